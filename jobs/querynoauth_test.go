package jobs_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/loopback"
	"github.com/payrecon/payrecon/reports/deliver/wecom"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestQueryRefusedFailsTheRun: when the provider lets the bill download
// but refuses every query (the query product not granted to the app or
// merchant), the run fails at the first query with the plain-words hint
// and one urgent alert, repairs nothing and sends no item to review;
// before, each discrepancy was sent to review with "query failed".
func TestQueryRefusedFailsTheRun(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{QueryNoAuth: true})
	robot := loopback.StartRobot()
	defer robot.Close()
	e.daily.Deliver = &deliver.Dispatcher{Log: e.db, Backoff: time.Millisecond, Channels: map[string]deliver.Notifier{
		"ops": &wecom.Notifier{URL: robot.URL, HTTP: robot.Client()},
	}}
	e.daily.Alerts = jobs.Alerting{Channels: []string{"ops"}}
	for _, tc := range []struct{ account, hint string }{
		{e.sb.ID.Alipay.Account, "Alipay refused this app access to the method"},
		{e.sb.ID.WeChat.Account, "WeChat Pay refused this merchant access to the API"},
	} {
		t.Run(tc.account, func(t *testing.T) {
			before := storetest.Must(e.db.Count(t.Context()))
			sent := len(robot.Received())
			_, err := e.daily.Run(t.Context(), tc.account, payrecon.DayOf(day), jobs.RunOptions{})
			if !errors.Is(err, provider.ErrMisconfigured) || !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("run: %v, want a misconfiguration saying %q", err, tc.hint)
			}
			if after := storetest.Must(e.db.Count(t.Context())); after != before {
				t.Fatalf("the ledger changed: %+v -> %+v", before, after)
			}
			runs := storetest.Must(e.db.Runs(t.Context(), 1))
			if runs[0].Status != payrecon.RunFailed || !strings.Contains(runs[0].Error, tc.hint) {
				t.Fatalf("run recorded %+v", runs[0])
			}
			if ds := storetest.Must(e.db.Discrepancies(t.Context(), tc.account, payrecon.DayOf(day))); len(ds) != 0 {
				t.Fatalf("%d discrepancies stored for review, want none from a failed run", len(ds))
			}
			msgs := robot.Received()[sent:]
			if len(msgs) != 1 {
				t.Fatalf("%d alerts, want one", len(msgs))
			}
			if left, _ := filepath.Glob(filepath.Join(e.dir, "reports", tc.account, ".workbook.tmp-*")); len(left) != 0 {
				t.Fatalf("the failed run left its workbook spill dir: %v", left)
			}
			md, _ := msgs[0]["markdown"].(map[string]any)
			if text, _ := md["content"].(string); !strings.Contains(text, tc.hint) {
				t.Fatalf("alert lacks the hint:\n%s", text)
			}
		})
	}
}

package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/store"
)

const pandasScript = `import json, sys, time
import pandas as pd
t = time.time()
dt = {"kind": str, "out_trade_no": str, "provider_trade_no": str, "out_refund_no": str}
bill = pd.read_csv(sys.argv[1], dtype=dt, keep_default_na=False)
led = pd.read_csv(sys.argv[2], dtype=dt, keep_default_na=False)
counts = {}
def diff(kind, key):
    b = bill[bill.kind == kind]
    l = led[led.kind == kind]
    m = b.merge(l, on=key, how="outer", suffixes=("_b", "_l"), indicator=True)
    both = m[m._merge == "both"]
    for code, n in (("MATCHED", (both.amount_fen_b == both.amount_fen_l).sum()),
                    ("MISSING_LOCAL", (m._merge == "left_only").sum()),
                    ("MISSING_CHANNEL", (m._merge == "right_only").sum()),
                    ("AMOUNT_MISMATCH", (both.amount_fen_b != both.amount_fen_l).sum())):
        counts[code] = counts.get(code, 0) + int(n)
diff("payment", "provider_trade_no")
diff("refund", "out_refund_no")
print(json.dumps({"rows": int(len(bill)), "seconds": time.time() - t,
                  "result": " ".join("%s=%d" % (k, v) for k, v in counts.items() if v)}))
`

// comparePandas runs the same key/amount diff as a pandas merge (read_csv
// of plain CSV exports of the WeChat Pay account's data in dir, then merge
// with indicator) in a python3 that has pandas, prints its row to w and
// returns its measure. The script's standard error goes to stderr.
func comparePandas(ctx context.Context, dir string, n int, stderr, w io.Writer) (*measured, error) {
	py := findPandas(ctx)
	if py == "" {
		return nil, fmt.Errorf("no python3 with pandas (apt-get install python3-pandas)")
	}
	billCSV, ledCSV, err := exportCSV(ctx, dir, n)
	if err != nil {
		return nil, fmt.Errorf("pandas export: %w", err)
	}
	script := filepath.Join(dir, "diff.py")
	if err := os.WriteFile(script, []byte(pandasScript), 0o600); err != nil {
		return nil, fmt.Errorf("pandas script: %w", err)
	}
	cmd := exec.CommandContext(ctx, py, script, billCSV, ledCSV)
	cmd.Stderr = stderr
	r, rss, err := runJSON("pandas", cmd)
	if err != nil {
		return nil, err
	}
	printRow(w, "pandas", "read_csv + merge", r, rss)
	fmt.Fprintf(w, "(pandas reads plain CSV exports of the WeChat Pay data and compares keys and amounts only; payrecon parses the provider's own format and also checks status, fees, duplicates and days)\n")
	return &measured{r, rss}, nil
}

// findPandas returns a python3 that imports pandas, or "".
func findPandas(ctx context.Context) string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.CommandContext(ctx, p, "-c", "import pandas").Run() == nil {
			return p
		}
	}
	return ""
}

// exportCSV writes the WeChat Pay account's bill of n payments and its
// ledger (from dir/ledger.db) as plain CSV into dir and returns their
// paths.
func exportCSV(ctx context.Context, dir string, n int) (billCSV, ledCSV string, err error) {
	write := func(name string, rows func(w io.Writer)) (string, error) {
		path := filepath.Join(dir, name)
		_, err := archive.WriteFile(path, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			fmt.Fprintln(bw, "kind,out_trade_no,provider_trade_no,out_refund_no,amount_fen")
			rows(bw)
			return bw.Flush()
		})
		return path, err
	}
	billCSV, err = write("pandas-bill.csv", func(w io.Writer) {
		for r := range billRows("W", n) {
			fmt.Fprintf(w, "%s,%s,%s,%s,%d\n", r.Kind, r.OutTradeNo, r.ProviderTradeNo, r.OutRefundNo, int64(r.AmountFen))
		}
	})
	if err != nil {
		return "", "", err
	}
	db, err := store.Open(ctx, filepath.Join(dir, "ledger.db"), store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	from, to := day.AddDate(0, 0, -2), day.AddDate(0, 0, 3)
	ledCSV, err = write("pandas-ledger.csv", func(w io.Writer) {
		db.EachTrade(ctx, "bench-wx", from, to, func(t payrecon.Trade) error {
			fmt.Fprintf(w, "payment,%s,%s,,%d\n", t.OutTradeNo, t.ProviderTradeNo, t.AmountFen)
			return nil
		})
		db.EachRefund(ctx, "bench-wx", from, to, func(r payrecon.RefundRecord) error {
			fmt.Fprintf(w, "refund,%s,,%s,%d\n", r.OutTradeNo, r.OutRefundNo, int64(r.AmountFen))
			return nil
		})
	})
	return billCSV, ledCSV, err
}

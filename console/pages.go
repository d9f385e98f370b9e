package console

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/admin"
	"github.com/payrecon/payrecon/review"
	"github.com/payrecon/payrecon/store"
)

// accountView is one account on the overview.
type accountView struct {
	Name               string
	LastRun            *payrecon.Run
	Accepted, Rejected int
	Open               int
	AtStake            payrecon.Fen
	Chart              chart
}

func (c *Console) overview(rq *req) {
	ctx := rq.r.Context()
	now := c.opt.Now()
	today := payrecon.DayOf(now)
	runs, err := c.ledger.Runs(ctx, 500)
	if err != nil {
		c.fail(rq, err)
		return
	}
	accepted, err := c.ledger.NotificationsSince(ctx, today.Start())
	if err != nil {
		c.fail(rq, err)
		return
	}
	rejected, err := c.ledger.RejectedSince(ctx, today.Start())
	if err != nil {
		c.fail(rq, err)
		return
	}
	var views []accountView
	for _, a := range c.opt.Accounts {
		v := accountView{Name: a, Accepted: accepted[a], Rejected: rejected[a]}
		for i := range runs {
			if runs[i].Account == a {
				v.LastRun = &runs[i]
				break
			}
		}
		items, err := c.review.List(ctx, review.Filter{Account: a})
		if err != nil {
			c.fail(rq, err)
			return
		}
		for _, it := range items {
			v.Open++
			v.AtStake += it.AtStake()
		}
		if v.Chart, err = c.healthChart(rq, a, today); err != nil {
			c.fail(rq, err)
			return
		}
		views = append(views, v)
	}
	data := map[string]any{"Accounts": views}
	if c.opt.Forwarding {
		st, err := c.ledger.Outbox(ctx)
		if err != nil {
			c.fail(rq, err)
			return
		}
		data["Backlog"] = st
	}
	c.render(rq, "overview", data)
}

// chart is a 14-day callback-health bar chart, drawn as inline SVG.
type chart struct {
	Bars []bar
}

type bar struct {
	X, Y, H int
	Label   string
	Low     bool
}

// healthChart measures the share of paid trades learned from
// notifications on each of the 14 days before today.
func (c *Console) healthChart(rq *req, account string, today payrecon.Day) (chart, error) {
	var ch chart
	for i := 14; i >= 1; i-- {
		d := today.AddDays(-i)
		h, _, err := c.ledger.CallbackHealth(rq.r.Context(), account, d.Start(), d.End())
		if err != nil {
			return ch, err
		}
		share := h.NotifyShareE4()
		height := share * 60 / 10000
		ch.Bars = append(ch.Bars, bar{X: (14 - i) * 20, Y: 64 - height, H: height, Low: share < 9500,
			Label: fmt.Sprintf("%s %s (%d/%d)", d, payrecon.Percent(share), h.Notify, h.Total())})
	}
	return ch, nil
}

// filterOf reads the inbox filters from the query string.
func filterOf(r *http.Request) (review.Filter, error) {
	q := r.URL.Query()
	f := review.Filter{Account: q.Get("account"), Code: payrecon.Code(q.Get("code")), State: payrecon.Outcome(q.Get("state"))}
	if s := q.Get("day"); s != "" {
		d, err := payrecon.ParseDay(s)
		if err != nil {
			return f, badForm("day: want YYYY-MM-DD (got %q)", s)
		}
		f.Day = d
	}
	return f, nil
}

func (c *Console) inbox(rq *req) {
	f, err := filterOf(rq.r)
	if err != nil {
		c.fail(rq, err)
		return
	}
	items, err := c.review.List(rq.r.Context(), f)
	if err != nil {
		c.fail(rq, err)
		return
	}
	c.render(rq, "inbox", map[string]any{"Items": items, "Filter": f, "Accounts": c.opt.Accounts})
}

func (c *Console) apiItems(rq *req) {
	f, err := filterOf(rq.r)
	if err != nil {
		http.Error(rq.w, err.Error(), http.StatusBadRequest)
		return
	}
	items, err := c.review.List(rq.r.Context(), f)
	if err != nil {
		c.log.Error("console api items", "err", err)
		http.Error(rq.w, "internal error", http.StatusInternalServerError)
		return
	}
	rq.w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rq.w).Encode(items)
}

func itemID(rq *req) (int64, error) {
	id, err := strconv.ParseInt(rq.r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("item %q: %w", rq.r.PathValue("id"), payrecon.ErrNotFound)
	}
	return id, nil
}

func (c *Console) item(rq *req) {
	id, err := itemID(rq)
	if err != nil {
		c.fail(rq, err)
		return
	}
	d, err := c.review.Show(rq.r.Context(), id)
	if err != nil {
		c.fail(rq, err)
		return
	}
	c.render(rq, "item", map[string]any{"D": d, "Flash": flash(rq.r)})
}

func flash(r *http.Request) string {
	switch r.URL.Query().Get("done") {
	case "requery":
		return "requeried"
	case "resolve":
		return "resolved"
	case "rerun":
		return "rerun_done"
	case "rerun_started":
		return "rerun_started"
	}
	return ""
}

func (c *Console) requery(rq *req) {
	id, err := itemID(rq)
	if err != nil {
		c.fail(rq, err)
		return
	}
	if _, err := c.review.Requery(rq.r.Context(), id, rq.operator); err != nil {
		c.fail(rq, err)
		return
	}
	http.Redirect(rq.w, rq.r, fmt.Sprintf("/console/items/%d?done=requery", id), http.StatusSeeOther)
}

// resolve previews a resolution; one that changes money is shown for a
// second confirmation, carrying the preview's token.
func (c *Console) resolve(rq *req) {
	id, err := itemID(rq)
	if err != nil {
		c.fail(rq, err)
		return
	}
	act, err := payrecon.ParseReviewAction(rq.r.PostFormValue("action"))
	if err != nil {
		c.fail(rq, err)
		return
	}
	in := review.Request{ItemID: id, Action: act, Operator: rq.operator, Remark: rq.r.PostFormValue("remark")}
	p, err := c.review.Resolve(rq.r.Context(), in, rq.r.PostFormValue("confirm"))
	if isNeedsConfirmation(err) {
		c.render(rq, "preview", map[string]any{"Plan": p, "Req": in, "Stale": rq.r.PostFormValue("confirm") != ""})
		return
	}
	if err != nil {
		c.fail(rq, err)
		return
	}
	c.log.Info("console resolution", "operator", rq.operator, "item", id, "action", string(act))
	http.Redirect(rq.w, rq.r, fmt.Sprintf("/console/items/%d?done=resolve", id), http.StatusSeeOther)
}

func (c *Console) runs(rq *req) {
	runs, err := c.ledger.Runs(rq.r.Context(), 200)
	if err != nil {
		c.fail(rq, err)
		return
	}
	c.render(rq, "runs", map[string]any{"Runs": runs, "Accounts": c.opt.Accounts, "Flash": flash(rq.r),
		"Yesterday": payrecon.DayOf(c.opt.Now()).AddDays(-1).String()})
}

// workbook serves a run's workbook through the admin handler: only an
// account's YYYY-MM-DD.xlsx; anything else is 404.
func (c *Console) workbook(rq *req) {
	admin.HandleWorkbook(c.log, c.opt.ReportsDir, c.opt.Accounts).ServeHTTP(rq.w, rq.r)
}

func (c *Console) rerunDay(rq *req) {
	account := rq.r.PostFormValue("account")
	if !slices.Contains(c.opt.Accounts, account) {
		c.fail(rq, badForm("account: no account %q", account))
		return
	}
	day, err := payrecon.ParseDay(rq.r.PostFormValue("day"))
	if err != nil {
		c.fail(rq, badForm("day: want YYYY-MM-DD (got %q)", rq.r.PostFormValue("day")))
		return
	}
	c.log.Info("console re-run", "operator", rq.operator, "account", account, "bill_date", day.String())
	done, err := c.startRerun(account, day)
	if err != nil {
		rq.w.Header().Set("Content-Type", "text/html; charset=utf-8")
		rq.w.WriteHeader(http.StatusServiceUnavailable)
		c.render(rq, "error", map[string]any{"Status": http.StatusServiceUnavailable, "Err": err.Error()})
		return
	}
	select {
	case err := <-done:
		if err != nil {
			rq.w.Header().Set("Content-Type", "text/html; charset=utf-8")
			rq.w.WriteHeader(http.StatusConflict)
			c.render(rq, "error", map[string]any{"Status": http.StatusConflict, "Err": err.Error()})
			return
		}
		http.Redirect(rq.w, rq.r, "/console/runs?done=rerun", http.StatusSeeOther)
	case <-time.After(c.opt.RerunWait):
		// Still running (a bill not ready yet, a long day): the run
		// goes on without the request and shows in the list.
		http.Redirect(rq.w, rq.r, "/console/runs?done=rerun_started", http.StatusSeeOther)
	case <-rq.r.Context().Done():
	}
}

// startRerun runs the daily job for (account, day) in the background,
// outside the request, so a run longer than the request's time limits
// still completes; Close cancels it and waits. The channel receives the
// run's result.
func (c *Console) startRerun(account string, day payrecon.Day) (<-chan error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("re-run: the console is shutting down")
	}
	done := make(chan error, 1)
	c.reruns.Add(1)
	go func() {
		defer c.reruns.Done()
		err := c.rerun.Rerun(c.ctx, account, day)
		if err != nil {
			c.log.Warn("console re-run failed", "account", account, "bill_date", day.String(), "err", err)
		}
		done <- err
	}()
	return done, nil
}

func (c *Console) quarantine(rq *req) {
	account, reason := rq.r.URL.Query().Get("account"), rq.r.URL.Query().Get("reason")
	rows, err := c.ledger.QuarantineList(rq.r.Context(), store.QuarantineFilter{Account: account, Reason: reason, Limit: 500})
	if err != nil {
		c.fail(rq, err)
		return
	}
	c.render(rq, "quarantine", map[string]any{"Rows": rows, "Account": account, "Reason": reason})
}

func (c *Console) quarantineRow(rq *req) {
	id, err := itemID(rq)
	if err != nil {
		c.fail(rq, err)
		return
	}
	q, err := c.ledger.QuarantineEntry(rq.r.Context(), id)
	if err != nil {
		c.fail(rq, err)
		return
	}
	c.render(rq, "quarantine_row", map[string]any{"Q": q})
}

func (c *Console) orders(rq *req) {
	now := c.opt.Now()
	var all []payrecon.ExpectedOrder
	for _, a := range c.opt.Accounts {
		os, err := c.ledger.Orders(rq.r.Context(), a, now.Add(-7*24*time.Hour), now.Add(time.Hour))
		if err != nil {
			c.fail(rq, err)
			return
		}
		all = append(all, os...)
	}
	sortOrders(all)
	c.render(rq, "orders", map[string]any{"Orders": all})
}

func sortOrders(os []payrecon.ExpectedOrder) {
	slices.SortStableFunc(os, func(a, b payrecon.ExpectedOrder) int {
		return cmp.Or(cmp.Compare(a.Status, b.Status), a.NextCheckAt.Compare(b.NextCheckAt))
	})
}

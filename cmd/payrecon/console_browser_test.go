package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

const chromiumPath = "/usr/bin/chromium"

const xssText = "<script>alert(1)</script>"

// browser starts headless Chromium with a fresh profile; it skips the
// test where Chromium is not installed.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chromiumPath), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 900)}
	actx, cancelA := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	return ctx
}

// TestConsoleInBrowser: after a sandbox day (one Alipay order number is
// a script tag), an operator signs in to the console in headless
// Chromium, opens the inbox, resolves a NEEDS_REVIEW item by accepting
// the provider's record with a remark (preview, then confirm), and sees
// the audit row and RESOLVED_MANUALLY, which "payrecon trades -json"
// confirms. The script tag renders as text and never runs. Each page is
// saved as a screenshot in the test's temp dir.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives a browser")
	}
	ctx := browser(t)
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	day := fx.Sandbox.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 12, Seed: 7, Faults: true})
	for _, tr := range day.Trades { // the first plain Alipay payment gets a script tag for an order number, and is notified 0.01 short
		if tr.Provider == payrecon.Alipay && !tr.PaidAt.IsZero() && len(tr.Refunds) == 0 && !tr.DropNotify && !tr.DelayNotify && tr.NotifyAmount == 0 && !tr.TamperNotify {
			tr.OutTradeNo, tr.NotifyAmount = xssText, tr.AmountFen-1
			break
		}
	}
	serveProviders(t, fx.Sandbox, fx.Config, sandbox.ServerFaults{}, day)
	token := "console-admin-token-0123456789"
	if err := os.WriteFile(filepath.Join(fx.Dir, "keys", "admin.token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	appendConfig(t, fx.Config, "admin:\n  token_file: keys/admin.token\n")
	addr, _, _ := startServe(t, fx.Config)
	if res, err := fx.Sandbox.DeliverDays(t.Context(), &http.Client{Timeout: 10 * time.Second}, "http://"+addr, io.Discard, day); err != nil {
		t.Fatalf("%v: %v", err, res.Unexpected)
	}
	runBin(t, bin, "reconcile", "-config", fx.Config, "-date", "2026-11-20")
	var target, scripted listedItem
	for _, it := range reviewItems(t, bin, fx.Config, "-state", "NEEDS_REVIEW") {
		switch {
		case it.OutTradeNo == xssText:
			scripted = it
		case it.Account == "sandbox-wx" && it.Code == "AMOUNT_MISMATCH":
			target = it
		}
	}
	if target.ID == 0 || scripted.ID == 0 {
		t.Fatalf("want a WeChat Pay amount mismatch and the script-tag order among the NEEDS_REVIEW items: %+v", reviewItems(t, bin, fx.Config))
	}

	var dialogs atomic.Int32
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1) // a script ran; the page stays blocked and the test times out with this count
		}
	}); err != nil {
		t.Fatalf("browser: %v", err)
	}
	base := "http://" + addr + "/console"
	shots := t.TempDir()
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o600)
		}
	}
	var inbox, order, orderHTML, state, audit, preview string
	var scripts int
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/inbox"), chromedp.WaitVisible(`#token`), shot("login"),
		chromedp.SendKeys(`#token`, token), chromedp.Click(`#signin`), chromedp.WaitVisible(`.account`), shot("overview"),
		chromedp.Navigate(base+"/inbox"), chromedp.WaitVisible(`#items`), into(&inbox, chromedp.Text(`#items`)), shot("inbox"),
		chromedp.Navigate(base+"/items/"+itoa(scripted.ID)), chromedp.WaitVisible(`#order`), into(&order, chromedp.Text(`#order`)),
		into(&orderHTML, chromedp.InnerHTML(`#order`)), into(&scripts, chromedp.Evaluate[int](`document.scripts.length`)), shot("item-script"),
		chromedp.Navigate(base+"/items/"+itoa(target.ID)), chromedp.WaitVisible(`#resolve-form`), shot("item"),
		chromedp.Click(`input[value="accept-provider"]`), chromedp.SendKeys(`#remark`, "商户后台核对：以渠道金额为准"),
		chromedp.Click(`#resolve`), chromedp.WaitVisible(`#confirm`), into(&preview, chromedp.Text(`#changes`)), shot("preview"),
		chromedp.Click(`#confirm`), chromedp.WaitVisible(`#flash`),
		into(&state, chromedp.Text(`#recon-state`)), into(&audit, chromedp.Text(`#audit`)), shot("item-resolved"),
		chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(`#runs`), shot("runs"),
		chromedp.Navigate(base+"/quarantine"), chromedp.WaitVisible(`main`), shot("quarantine"),
		chromedp.Navigate(base+"/orders"), chromedp.WaitVisible(`main`), shot("orders"),
		chromedp.Navigate(base+"/inbox?lang=en"), chromedp.WaitVisible(`#items`), shot("inbox-en"),
	)
	if err != nil {
		t.Fatalf("browser (dialogs opened: %d): %v", dialogs.Load(), err)
	}
	if !strings.Contains(inbox, xssText) || order != xssText || !strings.Contains(orderHTML, "&lt;script&gt;") || scripts != 0 || dialogs.Load() != 0 {
		t.Fatalf("the script tag did not render as text: inbox has it %v, order %q, html %q, scripts %d, dialogs %d",
			strings.Contains(inbox, xssText), order, orderHTML, scripts, dialogs.Load())
	}
	if !strings.Contains(preview, "amount_fen") || !strings.Contains(preview, "RESOLVED_MANUALLY") {
		t.Fatalf("preview:\n%s", preview)
	}
	if state != "RESOLVED_MANUALLY" || !strings.Contains(audit, "商户后台核对：以渠道金额为准") || !strings.Contains(audit, "admin") || !strings.Contains(audit, "amount_fen") {
		t.Fatalf("after the resolution: state %q, audit:\n%s", state, audit)
	}
	if tr := tradeJSON(t, bin, fx.Config, target.Account, target.OutTradeNo); tr["recon_state"] != "RESOLVED_MANUALLY" || int64(tr["amount_fen"].(float64)) != *target.BillFen {
		t.Fatalf("trades -json: %v", tr)
	}
	for _, name := range []string{"login", "overview", "inbox", "item", "preview", "item-resolved", "runs", "quarantine", "orders", "inbox-en", "item-script"} {
		if st, err := os.Stat(filepath.Join(shots, name+".png")); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	t.Logf("screenshots in %s", shots)
}

// into runs a and keeps its value in dst.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, tg)
		*dst = v
		return chromedp.Void{}, err
	}
}

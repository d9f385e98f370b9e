package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/store"
)

// markGoLive records, on serve's first start on the ledger, that each
// account goes live now (an account added later goes live at the first
// start that knows it). The reconciliation never treats a trade from
// before that instant as a dropped callback; reconcile.start_date, when
// set, overrides it.
func markGoLive(ctx context.Context, db *store.DB, cfg config.Config, now time.Time, logger *slog.Logger) error {
	for _, a := range cfg.Accounts {
		at, err := db.MarkGoLive(ctx, a.Name, now)
		if err != nil {
			return err
		}
		logger.Info("account live", "account", a.Name, "go_live", at)
	}
	return nil
}

// appIDs are a WeChat Pay account's apps (appid and appids).
func appIDs(a config.Account) []string {
	var ids []string
	if a.WxAppID != "" {
		ids = append(ids, a.WxAppID)
	}
	return append(ids, a.WxAppIDs...)
}

// merchantID is whose bills an account's are: the Alipay seller_id (PID)
// or the WeChat Pay mchid.
func merchantID(a config.Account) string {
	if a.Provider == string(payrecon.Alipay) {
		return a.SellerID
	}
	return a.MchID
}

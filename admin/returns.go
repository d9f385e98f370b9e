package admin

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
)

// ReturnVerifiers verify synchronous returns, one per account that takes
// them (Alipay accounts): each checks the signature over the return_url
// parameters exactly as received, and the app and seller, and returns
// what the return carries. An error means the return is rejected.
type ReturnVerifiers map[string]func(query []byte) (*payrecon.Notification, error)

// maxReturnBody caps a POST /api/returns body.
const maxReturnBody = 16 << 10

// HandleReturns answers POST /api/returns/{account}: the body is the query
// string the merchant's return page received from Alipay (return_url). A
// return is not proof of payment, but a hint that one probably happened:
// when its signature verifies, the order it names is registered as
// expected with the sweep's fastest tier, so payrecon queries it if no
// asynchronous notification arrives. It replies 200 with {"registered":
// 0|1, "already_known": 0|1, "out_trade_no": …}; 400 for a forged, tampered
// or malformed return (nothing is registered); 404 for an account that
// takes no returns; 413 for a body over 16 KiB; 500 when the ledger fails.
func HandleReturns(logger *slog.Logger, verifiers ReturnVerifiers, orders OrderRegistrar) http.Handler {
	logger = logger.With("component", "admin")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account := r.PathValue("account")
		verify, ok := verifiers[account]
		if !ok {
			http.Error(w, "no account that takes returns by this name", http.StatusNotFound)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReturnBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		req, err := verifiedReturn(verify, account, body)
		if err != nil {
			logger.Warn("return rejected", "account", account, "err", err)
			http.Error(w, "return rejected: "+err.Error()+" (nothing was registered)", http.StatusBadRequest)
			return
		}
		added, known, err := orders.Register(r.Context(), []jobs.OrderRequest{req})
		if oe := (*jobs.OrderError)(nil); errors.As(err, &oe) {
			http.Error(w, oe.Error()+" (nothing was registered)", http.StatusBadRequest)
			return
		}
		if err != nil {
			logger.Error("register return failed", "account", account, "out_trade_no", req.OutTradeNo, "err", err)
			http.Error(w, "ledger unavailable: nothing was registered", http.StatusInternalServerError)
			return
		}
		logger.Info("return registered", "account", account, "out_trade_no", req.OutTradeNo, "new", added == 1)
		writeJSON(w, logger, map[string]any{"registered": added, "already_known": known, "out_trade_no": req.OutTradeNo})
	})
}

// verifiedReturn verifies a return's parameters and returns the order it
// names (its amount from total_amount when present).
func verifiedReturn(verify func([]byte) (*payrecon.Notification, error), account string, body []byte) (jobs.OrderRequest, error) {
	query := bytes.TrimPrefix(bytes.TrimSpace(body), []byte("?"))
	n, err := verify(query)
	if err != nil {
		return jobs.OrderRequest{}, err
	}
	req := jobs.OrderRequest{Account: account, OutTradeNo: n.Event.OutTradeNo}
	if req.OutTradeNo == "" {
		return jobs.OrderRequest{}, errors.New("no out_trade_no")
	}
	p, err := url.ParseQuery(string(query))
	if err != nil {
		return jobs.OrderRequest{}, errors.New("malformed parameters")
	}
	if s := p.Get("total_amount"); s != "" {
		if req.AmountFen, err = payrecon.ParseYuan(s); err != nil {
			return jobs.OrderRequest{}, errors.New("total_amount: want yuan such as 12.34")
		}
	}
	return req, nil
}

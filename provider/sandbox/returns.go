package sandbox

import (
	"net/url"

	"github.com/payrecon/payrecon/provider/alipay"
)

// AlipayReturnParams returns, unsigned, the parameters Alipay appends to
// the merchant's return_url when the buyer's browser comes back from a
// page payment of t (the synchronous return; sign it with
// [Sandbox.SignAlipay]). Its paid time is when the buyer came back.
func (s *Sandbox) AlipayReturnParams(t AlipayTrade) url.Values {
	appID := t.AppID
	if appID == "" {
		appID = s.ID.Alipay.AppID
	}
	return url.Values{
		"app_id": {appID}, "auth_app_id": {appID}, "seller_id": {s.ID.Alipay.SellerID},
		"method": {"alipay.trade.page.pay.return"}, "charset": {"utf-8"}, "version": {"1.0"},
		"timestamp":    {alipay.FormatTime(t.Paid)},
		"out_trade_no": {t.OutTradeNo}, "trade_no": {t.TradeNo}, "total_amount": {t.Amount.Yuan()},
	}
}

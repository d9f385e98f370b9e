package sandbox

import (
	"archive/zip"
	"bufio"
	"cmp"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
)

// BillRow is one trade or refund the sandbox writes into a bill.
type BillRow struct {
	Kind             payrecon.EntryKind
	OutTradeNo       string
	ProviderTradeNo  string
	OutRefundNo      string
	ProviderRefundNo string
	AmountFen        payrecon.Fen // positive; refunds are written negative where the format says so
	Created          time.Time    // trade creation (Alipay repeats it on refund rows)
	At               time.Time    // payment or refund time
	Subject          string
	AppID            string // WeChat Pay: the row's app (empty: the bill's default)
	// DiscountFen is the part of AmountFen the merchant bears (WeChat Pay
	// 免充值券, Alipay 商家优惠): the row settles AmountFen − DiscountFen.
	DiscountFen payrecon.Fen
	// ProviderDiscountFen is paid by the provider (WeChat Pay 充值券,
	// Alipay 支付宝红包): the merchant is paid it.
	ProviderDiscountFen payrecon.Fen
	// Currency is the row's currency (empty: CNY); only the WeChat Pay
	// bill has a column for it.
	Currency string
}

// FeeRatePPM is the sandbox's fee rate, 0.60%, in parts per million.
const FeeRatePPM = 6000

// feeE5 is the sandbox's fee on a row, in 1e-5 yuan: 0.60% of what it
// settles (the order amount less the merchant's discount), rounded to the
// fen, as the real bills charge it; negative (returned) on a refund row.
func (r BillRow) feeE5() int64 {
	f := payrecon.FeeAtRate(r.AmountFen-r.DiscountFen, FeeRatePPM)
	if r.Kind == payrecon.EntryRefund {
		return -f
	}
	return f
}

// BillOptions inject faults into a written bill.
type BillOptions struct {
	// CorruptTotals makes the footer / summary disagree with the rows.
	CorruptTotals bool
	// AlipayFeesFlipped writes Alipay's 服务费 negative on payment rows and
	// positive on refund rows. Alipay does not document the sign of that
	// column (the real sample has only 0.00); payrecon must read either.
	AlipayFeesFlipped bool
}

const alipayHeader = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户," +
	"订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称," +
	"商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"

// WriteAlipayBill writes an Alipay trade bill ZIP as the download URL serves
// it: GBK entry names without the UTF-8 flag, a GBK …_业务明细.csv with the
// 25 columns, tab-padded IDs, negative refund rows and the totals footer,
// and the …_业务明细(汇总).csv beside it. pid is the 16-digit partner id.
func WriteAlipayBill(w io.Writer, pid string, day time.Time, rows iter.Seq[BillRow], opt BillOptions) error {
	zw := zip.NewWriter(w)
	base := fmt.Sprintf("%s0156_%s", pid, day.Format("20060102"))
	detail, err := createGBK(zw, base+"_业务明细.csv")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(simplifiedchinese.GBK.NewEncoder().Writer(detail), 64<<10)
	next := day.AddDate(0, 0, 1)
	fmt.Fprintf(bw, "#支付宝业务明细查询\r\n#账号：[%s0156]\r\n#起始日期：[%s 00:00:00]   终止日期：[%s 00:00:00]\r\n",
		pid, day.Format("2006年01月02日"), next.Format("2006年01月02日"))
	fmt.Fprintf(bw, "#-----------------------------------------业务明细列表----------------------------------------\r\n%s\r\n", alipayHeader)
	var nPay, nRef int
	var sumPay, sumRef, sumFee, sumGross, discPay, discRef payrecon.Fen
	for r := range rows {
		amt, kind, reqNo := r.AmountFen, "交易", ""
		disc, prov, fee := r.DiscountFen, r.ProviderDiscountFen, payrecon.Fen(r.feeE5()/1000)
		if opt.AlipayFeesFlipped {
			fee = -fee
		}
		if r.Kind == payrecon.EntryRefund {
			amt, disc, prov, kind, reqNo = -amt, -disc, -prov, "退款", r.OutRefundNo
			nRef++
			sumRef += amt - disc
			discRef += disc
		} else {
			nPay++
			sumPay += amt - disc
			discPay += disc
		}
		sumFee += fee
		sumGross += amt
		subject := strings.NewReplacer(",", "，", "\n", " ", "\r", " ").Replace(cmp.Or(r.Subject, "沙箱商品"))
		fmt.Fprintf(bw, "%s\t,%s\t,%s\t,%s,%s,%s,\t,\t,\t,\t,sbx***@example.com\t,%s,%s,%s,0.00,0.00,%s,0.00,,0.00\t,0.00,%s\t,%s,0.00,\r\n",
			r.ProviderTradeNo, r.OutTradeNo, kind, subject,
			bjTime(r.Created), bjTime(r.At), amt.Yuan(), (amt - disc).Yuan(), prov.Yuan(), disc.Yuan(), reqNo, fee.Yuan())
	}
	statedPay := sumPay
	if opt.CorruptTotals {
		statedPay += 1
	}
	fmt.Fprintf(bw, "#-----------------------------------------业务明细列表结束------------------------------------\r\n")
	fmt.Fprintf(bw, "#交易合计：%d笔，商家实收共%s元，商家优惠共%s元\r\n", nPay, statedPay.Yuan(), discPay.Yuan())
	fmt.Fprintf(bw, "#退款合计：%d笔，商家实收退款共%s元，商家优惠退款共%s元\r\n", nRef, sumRef.Yuan(), discRef.Yuan())
	fmt.Fprintf(bw, "#导出时间：[%s 05:46:49]\r\n", next.Format("2006年01月02日"))
	if err := bw.Flush(); err != nil {
		return err
	}
	summary, err := createGBK(zw, base+"_业务明细(汇总).csv")
	if err != nil {
		return err
	}
	sw := simplifiedchinese.GBK.NewEncoder().Writer(summary)
	fmt.Fprintf(sw, "#支付宝业务汇总查询\r\n#账号：[%s0156]\r\n#-----------------------------------------业务汇总列表----------------------------------------\r\n", pid)
	fmt.Fprintf(sw, "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\r\n")
	net := sumPay + sumRef
	fmt.Fprintf(sw, "合计,,%d,%d,%s,%s,0.00,%s,0.00,%s,0.00,%s\r\n", nPay, nRef, sumGross.Yuan(), net.Yuan(), (discPay + discRef).Yuan(), sumFee.Yuan(), (net - sumFee).Yuan())
	fmt.Fprintf(sw, "#-----------------------------------------业务汇总列表结束------------------------------------\r\n#导出时间：[%s 05:46:49]\r\n", next.Format("2006年01月02日"))
	return zw.Close()
}

// createGBK adds a ZIP entry whose name is GBK bytes without the UTF-8
// flag, as Alipay's bill ZIPs have.
func createGBK(zw *zip.Writer, name string) (io.Writer, error) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(name)
	if err != nil {
		return nil, err
	}
	return zw.CreateHeader(&zip.FileHeader{Name: gbk, NonUTF8: true, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
}

func bjTime(t time.Time) string { return t.In(payrecon.ShanghaiFixed).Format("2006-01-02 15:04:05") }

const wechatAllHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率," +
	"订单金额,申请退款金额,费率备注"

const wechatSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// WriteWeChatBill writes a WeChat Pay ALL trade bill as the download URL
// serves it (before gzip): UTF-8, a header row, detail rows whose every
// value starts with a backtick, fees with five decimals (negative on refund
// rows), then the summary header and row. appID fills 公众账号ID on rows
// that name no app of their own.
func WriteWeChatBill(w io.Writer, mchID, appID string, rows iter.Seq[BillRow], opt BillOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "%s\r\n", wechatAllHeader)
	var n int
	var settle, refund, recharge, fee5, order, applied int64
	for r := range rows {
		n++
		f := r.feeE5()
		subject := strings.NewReplacer(",`", "，", "`", "'", "\n", " ", "\r", " ").Replace(cmp.Or(r.Subject, "沙箱商品"))
		net, coupon, cur := r.AmountFen-r.DiscountFen, r.DiscountFen+r.ProviderDiscountFen, cmp.Or(r.Currency, "CNY")
		if r.Kind == payrecon.EntryRefund {
			// 退款金额 = 申请退款金额 − 充值券退款金额 (the doc's identity): the
			// merchant pays back the refund less the discount it bore.
			fmt.Fprintf(bw, "`%s,`%s,`%s,`0,`,`%s,`%s,`oSandbox,`NATIVE,`REFUND,`OTHERS,`%s,`0.00,`0.00,`%s,`%s,`%s,`%s,`ORIGINAL,`SUCCESS,`%s,`,`%s,`0.60%%,`0.00,`%s,`\r\n",
				bjTime(r.At), cmp.Or(r.AppID, appID), mchID, r.ProviderTradeNo, r.OutTradeNo, cur, r.ProviderRefundNo, r.OutRefundNo, net.Yuan(), r.DiscountFen.Yuan(), subject, e5(f), r.AmountFen.Yuan())
			refund += int64(net)
			recharge += int64(r.DiscountFen)
			applied += int64(r.AmountFen)
		} else {
			fmt.Fprintf(bw, "`%s,`%s,`%s,`0,`,`%s,`%s,`oSandbox,`NATIVE,`SUCCESS,`OTHERS,`%s,`%s,`%s,`0,`0,`0.00,`0.00,`,`,`%s,`,`%s,`0.60%%,`%s,`0.00,`\r\n",
				bjTime(r.At), cmp.Or(r.AppID, appID), mchID, r.ProviderTradeNo, r.OutTradeNo, cur, net.Yuan(), coupon.Yuan(), subject, e5(f), r.AmountFen.Yuan())
			settle += int64(net)
			order += int64(r.AmountFen)
		}
		fee5 += f
	}
	if opt.CorruptTotals {
		order++
	}
	fmt.Fprintf(bw, "%s\r\n`%d,`%s,`%s,`%s,`%s,`%s,`%s\r\n", wechatSummaryHeader, n,
		payrecon.Fen(settle).Yuan(), payrecon.Fen(refund).Yuan(), payrecon.Fen(recharge).Yuan(), e5(fee5), payrecon.Fen(order).Yuan(), payrecon.Fen(applied).Yuan())
	return bw.Flush()
}

func e5(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%05d", sign, v/100000, v%100000)
}

package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
)

// rawCells is one workbook row's values as the raw loop writes them: the
// cells of a matched payment on 明细 or refund on 退款.
type rawCells struct {
	refund                         bool
	outTradeNo, tradeNo, refundNo  string
	amount, ledger, discount, fee  float64
	at                             time.Time
	status, tie, code, note, appID string
}

// rawRows is the day's bill as the workbook's detail rows, in memory
// before the raw loop is timed.
func rawRows(a benchAccount, n int) []rawCells {
	var rows []rawCells
	appID := ""
	if a.provider == payrecon.WeChatPay {
		appID = "wx01"
	}
	for r := range billRows(a.prefix, n) {
		c := rawCells{outTradeNo: r.OutTradeNo, tradeNo: r.ProviderTradeNo, amount: float64(r.AmountFen) / 100, ledger: float64(r.AmountFen) / 100,
			fee: float64(r.AmountFen*6/1000) / 100, at: wallClock(r.At), status: "已支付", tie: "已匹配", code: "MATCHED", note: "成功", appID: appID}
		if r.Kind == payrecon.EntryRefund {
			c.refund, c.refundNo, c.status, c.note, c.fee = true, r.OutRefundNo, "退款成功", "退款成功", -c.fee
		}
		rows = append(rows, c)
	}
	return rows
}

// writeRaw writes rows to path with a plain excelize StreamWriter loop:
// two sheets, a header row each, one SetRow per row with a fresh []any,
// money and date-time cells styled, then the file. It is the floor the
// workbook's detail sheets are measured against.
func writeRaw(path string, rows []rawCells) error {
	f := excelize.NewFile()
	defer f.Close()
	fmtMoney, fmtTime := `"¥"#,##0.00;[Red]\-"¥"#,##0.00`, "yyyy-mm-dd hh:mm:ss"
	money, err := f.NewStyle(&excelize.Style{CustomNumFmt: &fmtMoney})
	if err != nil {
		return fmt.Errorf("raw loop: %w", err)
	}
	dt, err := f.NewStyle(&excelize.Style{CustomNumFmt: &fmtTime})
	if err != nil {
		return fmt.Errorf("raw loop: %w", err)
	}
	if _, err := f.NewSheet("退款"); err != nil {
		return fmt.Errorf("raw loop: %w", err)
	}
	pay, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return fmt.Errorf("raw loop: %w", err)
	}
	ref, err := f.NewStreamWriter("退款")
	if err != nil {
		return fmt.Errorf("raw loop: %w", err)
	}
	sheets := map[bool]*excelize.StreamWriter{false: pay, true: ref}
	next := map[bool]int{false: 1, true: 1}
	for _, sw := range sheets {
		if err := sw.SetRow("A1", []any{"商户订单号", "渠道交易号", "账单金额（元）", "账本金额（元）", "账本状态", "时间", "核对", "代码", "处理结果", "备注", "应用ID", "商家优惠（元）", "手续费（元）"}); err != nil {
			return fmt.Errorf("raw loop: %w", err)
		}
	}
	for _, r := range rows {
		m := func(v float64) excelize.Cell { return excelize.Cell{StyleID: money, Value: v} }
		row := []any{r.outTradeNo, r.tradeNo, m(r.amount), m(r.ledger), r.status, excelize.Cell{StyleID: dt, Value: r.at}, r.tie, r.code, "", r.note, r.appID, m(r.discount), m(r.fee)}
		if r.refund {
			row = append([]any{r.outTradeNo, r.refundNo}, row[1:]...)
		}
		next[r.refund]++
		cell, _ := excelize.CoordinatesToCellName(1, next[r.refund])
		if err := sheets[r.refund].SetRow(cell, row); err != nil {
			return fmt.Errorf("raw loop: %w", err)
		}
	}
	for _, sw := range sheets {
		if err := sw.Flush(); err != nil {
			return fmt.Errorf("raw loop: %w", err)
		}
	}
	_, err = archive.WriteFile(path, func(w io.Writer) error { return f.Write(w) })
	return err
}

// wallClock is t's Beijing date and time as UTC, as the workbook writes
// times.
func wallClock(t time.Time) time.Time {
	t = t.In(payrecon.ShanghaiFixed)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

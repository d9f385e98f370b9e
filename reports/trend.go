package reports

import (
	"fmt"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
)

// TrendDays is how many days the callback-health chart on 汇总 covers.
const TrendDays = 14

// DayHealth is one day's callback health, for the chart on 汇总.
type DayHealth struct {
	Day payrecon.Day
	payrecon.CallbackHealth
}

// SetHealthTrend adds the account's callback health of the last days
// (oldest first, the report's day last) to the summary sheet: a table of
// notify / query / bill-only per day and a stacked column chart of it.
// Without it the summary has neither.
func (w *Workbook) SetHealthTrend(days []DayHealth) { w.sum.Trend = days }

// trend writes the table of the callback health per day and the chart
// below it; nothing when the trend was not set.
func (s *summaryWriter) trend() {
	days := s.wb.sum.Trend
	if len(days) == 0 {
		return
	}
	w := s.wb
	s.blank()
	s.header("trend", "by_notify", "by_query", "bill_only", "share")
	head, first := s.row-1, s.row
	for _, d := range days {
		s.cells(d.Day.String(), d.Notify, d.Query, d.BillOnly, w.percent(d.NotifyShareE4()))
	}
	if s.err != nil {
		return
	}
	s.blank()
	s.err = w.f.AddChart(s.sheet, fmt.Sprintf("A%d", s.row), healthChart(s.sheet, w.t("trend"), head, first, s.row-2))
	s.row += chartRows
}

// chartRows are the rows the chart covers (at the default row height).
const chartRows = 16

// healthChart is a stacked column chart of columns B (notify), C (query)
// and D (bill-only) of rows first to last, named by row head, with the
// days of column A as categories.
func healthChart(sheet, title string, head, first, last int) *excelize.Chart {
	ref := func(col string, from, to int) string {
		if from == to {
			return fmt.Sprintf("'%s'!$%s$%d", sheet, col, from)
		}
		return fmt.Sprintf("'%s'!$%s$%d:$%s$%d", sheet, col, from, col, to)
	}
	colors := map[string]string{"B": "70AD47", "C": "FFC000", "D": "C00000"}
	var series []excelize.ChartSeries
	for _, col := range []string{"B", "C", "D"} {
		series = append(series, excelize.ChartSeries{Name: ref(col, head, head), Categories: ref("A", first, last), Values: ref(col, first, last),
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{colors[col]}}})
	}
	return &excelize.Chart{Type: excelize.ColStacked, Series: series, Title: excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: title}}},
		VaryColors: boolPtr(false), Legend: excelize.ChartLegend{Position: "bottom"}, Dimension: excelize.ChartDimension{Width: 720, Height: 300},
		Format: excelize.GraphicOptions{PrintObject: boolPtr(true), Locked: boolPtr(false)}}
}

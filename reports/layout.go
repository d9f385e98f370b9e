package reports

import (
	"fmt"

	"github.com/xuri/excelize/v2"
)

// The number formats of the workbook. Money is in yuan with a currency
// sign, thousands separators and negatives in red; the sign is quoted, as
// Excel itself writes a literal in a format.
const (
	fmtMoney    = `"¥"#,##0.00;[Red]\-"¥"#,##0.00`
	fmtPercent  = "0.00%"
	fmtDateTime = "yyyy-mm-dd hh:mm:ss"
)

// styles are the cell styles of the workbook, made once per workbook.
type styles struct {
	header, money, text, percent, dateTime, wrap int
	// banner is the 汇总 banner by severity: none, warn, act.
	banner [3]int
}

// The banner's severities.
const (
	severityNone = iota // nothing needs action
	severityWarn        // only items held for the next day
	severityAct         // items a person must act on
)

// newStyles makes the workbook's styles.
func newStyles(f *excelize.File) (styles, error) {
	var s styles
	custom := func(code string) *excelize.Style { return &excelize.Style{CustomNumFmt: &code} }
	banner := func(fill, font string) *excelize.Style {
		return &excelize.Style{Font: &excelize.Font{Bold: true, Size: 14, Color: font},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{fill}},
			Alignment: &excelize.Alignment{Vertical: "center"}}
	}
	defs := []struct {
		id    *int
		style *excelize.Style
	}{
		{&s.header, &excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
			Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}},
		{&s.money, custom(fmtMoney)},
		{&s.text, custom("@")},
		{&s.percent, custom(fmtPercent)},
		{&s.dateTime, custom(fmtDateTime)},
		{&s.wrap, &excelize.Style{Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}}},
		{&s.banner[severityNone], banner("E2EFDA", "375623")},
		{&s.banner[severityWarn], banner("FFF2CC", "7F6000")},
		{&s.banner[severityAct], banner("C00000", "FFFFFF")},
	}
	for _, d := range defs {
		id, err := f.NewStyle(d.style)
		if err != nil {
			return styles{}, fmt.Errorf("new style: %w", err)
		}
		*d.id = id
	}
	return s, nil
}

// printSetup makes a sheet print landscape, one page wide (as many pages
// tall as it takes) and, when titleRows is not 0, with its first
// titleRows rows repeated on every page. A streamed sheet must be set up
// before its stream writer is made: the writer copies the settings.
func (w *Workbook) printSetup(sheet string, titleRows int) error {
	landscape, wide, tall, fit := "landscape", 1, 0, true
	if err := w.f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &landscape, FitToWidth: &wide, FitToHeight: &tall}); err != nil {
		return fmt.Errorf("page layout %s: %w", sheet, err)
	}
	if err := w.f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return fmt.Errorf("sheet props %s: %w", sheet, err)
	}
	if titleRows == 0 {
		return nil
	}
	ref := fmt.Sprintf("'%s'!$1:$%d", sheet, titleRows)
	if err := w.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: ref, Scope: sheet}); err != nil {
		return fmt.Errorf("print titles %s: %w", sheet, err)
	}
	return nil
}

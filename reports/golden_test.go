package reports_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "rewrite testdata/workbook_*.golden")

// TestWorkbookGolden compares every cell of every sheet of the sample
// workbook (value, type and style), and each sheet's layout (column widths,
// panes, tables), read back with excelize from the bytes the workbook wrote,
// against testdata/workbook_<locale>.golden. Run with -update to accept a
// change, then read the diff.
func TestWorkbookGolden(t *testing.T) {
	for _, locale := range []string{"zh", "en"} {
		t.Run(locale, func(t *testing.T) {
			got := dump(t, open(t, build(t, sampleMeta(locale))))
			path := filepath.Join("testdata", "workbook_"+locale+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./reports -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("workbook differs from %s (run with -update to accept):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// dump renders the workbook as text: the sheets in order, the active sheet,
// every style used, then per sheet its layout and every cell that has a
// value or a style, row by row.
func dump(t *testing.T, f *excelize.File) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Every cell of the sample workbook; regenerate with: go test ./reports -update\n")
	sheets := f.GetSheetList()
	fmt.Fprintf(&b, "sheets %q\nactive %d\n", sheets, f.GetActiveSheetIndex())
	styles := map[int]bool{}
	var body strings.Builder
	for _, sh := range sheets {
		dumpSheet(t, f, sh, &body, styles)
	}
	ids := make([]int, 0, len(styles))
	for id := range styles {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "style s%d %s\n", id, styleText(t, f, id))
	}
	b.WriteString(body.String())
	return b.String()
}

func dumpSheet(t *testing.T, f *excelize.File, sh string, b *strings.Builder, styles map[int]bool) {
	t.Helper()
	rs, err := f.GetRows(sh, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("%s: %v", sh, err)
	}
	dim, err := f.GetSheetDimension(sh)
	if err != nil {
		t.Fatalf("%s: %v", sh, err)
	}
	maxCol, maxRow := 0, len(rs)
	for _, r := range rs {
		maxCol = max(maxCol, len(r))
	}
	if _, end, ok := strings.Cut(dim, ":"); ok {
		c, r, err := excelize.CellNameToCoordinates(end)
		if err != nil {
			t.Fatalf("%s dimension %q: %v", sh, dim, err)
		}
		maxCol, maxRow = max(maxCol, c), max(maxRow, r)
	}
	fmt.Fprintf(b, "\nsheet %q dimension %q\n", sh, dim)
	dumpLayout(t, f, sh, maxCol, b)
	for r := 1; r <= maxRow; r++ {
		for c := 1; c <= maxCol; c++ {
			ref, _ := excelize.CoordinatesToCellName(c, r)
			if line, style := cellText(t, f, sh, ref); line != "" {
				b.WriteString(line)
				styles[style] = true
			}
		}
	}
}

// dumpLayout writes the column widths, the panes and the tables.
func dumpLayout(t *testing.T, f *excelize.File, sh string, maxCol int, b *strings.Builder) {
	t.Helper()
	for c := 1; c <= maxCol; c++ {
		name, _ := excelize.ColumnNumberToName(c)
		wd, err := f.GetColWidth(sh, name)
		if err != nil {
			t.Fatalf("%s!%s width: %v", sh, name, err)
		}
		fmt.Fprintf(b, "width %s %g\n", name, wd)
	}
	p, err := f.GetPanes(sh)
	if err != nil {
		t.Fatalf("%s panes: %v", sh, err)
	}
	fmt.Fprintf(b, "panes freeze=%t split=%t x=%d y=%d topleft=%q active=%q\n", p.Freeze, p.Split, p.XSplit, p.YSplit, p.TopLeftCell, p.ActivePane)
	pl, err := f.GetPageLayout(sh)
	if err != nil {
		t.Fatalf("%s page layout: %v", sh, err)
	}
	props, err := f.GetSheetProps(sh)
	if err != nil {
		t.Fatalf("%s sheet props: %v", sh, err)
	}
	fmt.Fprintf(b, "print %s wide=%d tall=%d fit=%t titles=%q\n", deref(pl.Orientation), deref(pl.FitToWidth), deref(pl.FitToHeight), deref(props.FitToPage), printTitles(f, sh))
	merged, err := f.GetMergeCells(sh)
	if err != nil {
		t.Fatalf("%s merged cells: %v", sh, err)
	}
	for _, m := range merged {
		fmt.Fprintf(b, "merged %s:%s\n", m.GetStartAxis(), m.GetEndAxis())
	}
	tables, err := f.GetTables(sh)
	if err != nil {
		t.Fatalf("%s tables: %v", sh, err)
	}
	for _, tb := range tables {
		fmt.Fprintf(b, "table %s %s %s stripes=%v\n", tb.Name, tb.Range, tb.StyleName, tb.ShowRowStripes != nil && *tb.ShowRowStripes)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// printTitles is the rows repeated on every printed page of a sheet.
func printTitles(f *excelize.File, sh string) string {
	for _, dn := range f.GetDefinedName() {
		if dn.Name == "_xlnm.Print_Titles" && dn.Scope == sh {
			return dn.RefersTo
		}
	}
	return ""
}

// cellText is one golden line for a cell ("" when the cell has neither a
// value nor a style) and the cell's style.
func cellText(t *testing.T, f *excelize.File, sh, ref string) (string, int) {
	t.Helper()
	v, err := f.GetCellValue(sh, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("%s!%s: %v", sh, ref, err)
	}
	style, err := f.GetCellStyle(sh, ref)
	if err != nil {
		t.Fatalf("%s!%s style: %v", sh, ref, err)
	}
	typ, err := f.GetCellType(sh, ref)
	if err != nil {
		t.Fatalf("%s!%s type: %v", sh, ref, err)
	}
	if v == "" && style == 0 && typ == excelize.CellTypeUnset {
		return "", 0
	}
	shown, err := f.GetCellValue(sh, ref)
	if err != nil {
		t.Fatalf("%s!%s: %v", sh, ref, err)
	}
	line := fmt.Sprintf("%s s%d %s %q", ref, style, typeName(typ), v)
	if shown != v {
		line += fmt.Sprintf(" shown %q", shown)
	}
	return line + "\n", style
}

func typeName(c excelize.CellType) string {
	return map[excelize.CellType]string{
		excelize.CellTypeUnset: "unset", excelize.CellTypeBool: "bool", excelize.CellTypeDate: "date",
		excelize.CellTypeError: "error", excelize.CellTypeFormula: "str", excelize.CellTypeInlineString: "inline",
		excelize.CellTypeNumber: "number", excelize.CellTypeSharedString: "shared",
	}[c]
}

// styleText is a style's definition as JSON with zero fields left out.
func styleText(t *testing.T, f *excelize.File, id int) string {
	t.Helper()
	s, err := f.GetStyle(id)
	if err != nil {
		t.Fatalf("style %d: %v", id, err)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(pruneZero(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// pruneZero drops null, false, 0, "" and empty values from decoded JSON
// (maps are marshalled with sorted keys, so the text is stable).
func pruneZero(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			if e = pruneZero(e); e != nil {
				m[k] = e
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	case []any:
		if len(x) == 0 {
			return nil
		}
		return x
	case bool, float64, string:
		if x == false || x == 0.0 || x == "" {
			return nil
		}
	}
	return v
}

// lineDiff lists the lines of want missing from got (-) and the lines of
// got missing from want (+), in order; enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	if b.Len() == 0 {
		b.WriteString("(same lines, different order or repetition)\n")
	}
	return b.String()
}

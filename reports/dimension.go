package reports

import (
	"archive/zip"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
)

// writeTo writes the workbook to out with every sheet declaring its used
// range. excelize's stream writer writes a sheet's <dimension> before its
// rows, as "A1", and readers that trust it (openpyxl in read-only mode)
// then see one column. So the workbook goes to a temporary file first and
// is copied to out entry by entry, raw (not recompressed), except the
// streamed sheets, whose <dimension> is replaced by the range in dims (by
// sheet name) on the way.
func (w *Workbook) writeTo(out io.Writer, dims map[string]string) error {
	tmp, err := os.CreateTemp("", "payrecon-workbook-*.xlsx")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	size, err := w.f.WriteTo(tmp)
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(tmp, size)
	if err != nil {
		return err
	}
	paths, err := sheetPaths(zr)
	if err != nil {
		return fmt.Errorf("sheet paths: %w", err)
	}
	byPath := map[string]string{}
	for name, ref := range dims {
		byPath[paths[name]] = ref
	}
	zw := zip.NewWriter(out)
	for _, f := range zr.File {
		ref, ok := byPath[f.Name]
		if !ok {
			err = zw.Copy(f)
		} else {
			err = copyWithDimension(zw, f, ref)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return zw.Close()
}

// dimensionRE matches a <dimension> element as encoding/xml or Excel
// writes it.
var dimensionRE = regexp.MustCompile(`<dimension ref="[^"]*"\s*(?:/>|></dimension>)`)

// copyWithDimension copies a worksheet entry, replacing its <dimension>,
// which comes before the rows, near the start.
func copyWithDimension(zw *zip.Writer, f *zip.File, ref string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	head := make([]byte, 16<<10)
	n, err := io.ReadFull(rc, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return err
	}
	head = head[:n]
	loc := dimensionRE.FindIndex(head)
	if loc == nil {
		return fmt.Errorf("no <dimension> in the first %d bytes", n)
	}
	dst, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.Modified})
	if err != nil {
		return err
	}
	patched := slices.Concat(head[:loc[0]], []byte(`<dimension ref="`+ref+`"/>`), head[loc[1]:])
	if _, err := dst.Write(patched); err != nil {
		return err
	}
	_, err = io.Copy(dst, rc)
	return err
}

// sheetPaths maps each sheet's name to its part in the package, from
// xl/workbook.xml and its relationships.
func sheetPaths(zr *zip.Reader) (map[string]string, error) {
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			RID  string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := readXML(zr, "xl/workbook.xml", &wb); err != nil {
		return nil, err
	}
	if err := readXML(zr, "xl/_rels/workbook.xml.rels", &rels); err != nil {
		return nil, err
	}
	target := map[string]string{}
	for _, r := range rels.Rels {
		if strings.HasPrefix(r.Target, "/") {
			target[r.ID] = strings.TrimPrefix(r.Target, "/")
		} else {
			target[r.ID] = path.Join("xl", r.Target)
		}
	}
	out := map[string]string{}
	for _, s := range wb.Sheets {
		out[s.Name] = target[s.RID]
	}
	return out, nil
}

func readXML(zr *zip.Reader, name string, v any) error {
	rc, err := zr.Open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	return xml.NewDecoder(rc).Decode(v)
}

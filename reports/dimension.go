package reports

import (
	"archive/zip"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"

	"github.com/xuri/excelize/v2"
)

// writeTo writes the workbook to out with every sheet declaring its used
// range. excelize's stream writer writes a sheet's <dimension> before its
// rows, as "A1", and readers that trust it (openpyxl in read-only mode)
// then see one column. So excelize writes through a zip writer of ours,
// straight to out, which replaces the <dimension> of each streamed sheet
// (dims, by sheet name) on the way: each part is compressed once, and
// neither a temporary file nor the whole package in memory is needed.
func (w *Workbook) writeTo(out io.Writer, dims map[string]string) error {
	refs := map[string]string{}
	for id, name := range w.f.GetSheetMap() {
		if ref, ok := dims[name]; ok {
			refs[fmt.Sprintf("xl/worksheets/sheet%d.xml", id)] = ref // the part excelize's NewSheet gives a sheet
		}
	}
	if len(refs) != len(dims) {
		return fmt.Errorf("sheet parts: %d of %d streamed sheets found", len(refs), len(dims))
	}
	zw := &dimensionZip{Writer: zip.NewWriter(out), refs: refs}
	w.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zw })
	if _, err := w.f.WriteTo(io.Discard); err != nil {
		return err
	}
	if !zw.closed {
		return fmt.Errorf("workbook package not closed")
	}
	if len(zw.refs) > 0 {
		return fmt.Errorf("sheet parts not written: %v", slices.Sorted(maps.Keys(zw.refs)))
	}
	return nil
}

// dimensionZip is the zip writer excelize writes the package through:
// each part named in refs has its <dimension> replaced by the range.
type dimensionZip struct {
	*zip.Writer
	refs   map[string]string // part -> used range, until written
	open   *dimensionWriter  // the patched part being written
	closed bool
}

func (z *dimensionZip) finishOpen() error {
	if z.open == nil {
		return nil
	}
	err := z.open.finish()
	z.open = nil
	return err
}

// Create starts the next part.
func (z *dimensionZip) Create(name string) (io.Writer, error) {
	if err := z.finishOpen(); err != nil {
		return nil, err
	}
	w, err := z.Writer.Create(name)
	if err != nil {
		return nil, err
	}
	ref, ok := z.refs[name]
	if !ok {
		return w, nil
	}
	delete(z.refs, name)
	z.open = &dimensionWriter{w: w, ref: ref, name: name}
	return z.open, nil
}

// Close ends the package.
func (z *dimensionZip) Close() error {
	if err := z.finishOpen(); err != nil {
		return err
	}
	z.closed = true
	return z.Writer.Close()
}

// dimensionRE matches a <dimension> element as encoding/xml or Excel
// writes it.
var dimensionRE = regexp.MustCompile(`<dimension ref="[^"]*"\s*(?:/>|></dimension>)`)

// dimensionWriter holds a worksheet part's head until its <dimension>
// (which comes before the rows, near the start) has gone by, replaced.
type dimensionWriter struct {
	w         io.Writer
	ref, name string
	head      []byte
	done      bool
}

func (d *dimensionWriter) Write(p []byte) (int, error) {
	if d.done {
		return d.w.Write(p)
	}
	d.head = append(d.head, p...)
	loc := dimensionRE.FindIndex(d.head)
	if loc == nil {
		if len(d.head) >= 16<<10 {
			return 0, fmt.Errorf("%s: no <dimension> in the first %d bytes", d.name, len(d.head))
		}
		return len(p), nil
	}
	d.done = true
	patched := slices.Concat(d.head[:loc[0]], []byte(`<dimension ref="`+d.ref+`"/>`), d.head[loc[1]:])
	d.head = nil
	if _, err := d.w.Write(patched); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (d *dimensionWriter) finish() error {
	if !d.done {
		return fmt.Errorf("%s: no <dimension> in its %d bytes", d.name, len(d.head))
	}
	return nil
}

package archive

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"path/filepath"

	"github.com/tomscan/tomscan/reports"
)

// A scan's worker process prepares each build it scanned for the archive
// (Prepare): its pages and index rows, made from the report it holds in
// memory. The parent then writes the files and upserts the rows as they
// come (WritePrepared, Keyed.Rows), without decoding the report again or
// rendering anything: the parent is one process for all the jobs, and what
// it did per build (decode the report, render md and html, derive the rows,
// three views of the report) kept --jobs from scaling and made a rescan
// with new rules mostly the parent's work.

// PageSpec is what Prepare renders besides the rows: the pages --format
// asks for.
type PageSpec struct {
	MD   bool `json:"md"`
	HTML bool `json:"html"`
}

// Prepared is a build ready to be archived. Extra is the caller's own
// (a scan's --ndjson line), carried alongside.
type Prepared struct {
	Status   string
	Matches  int
	MD, HTML []byte // nil when not asked for
	Rows     *Rows
	Extra    []byte
}

// Prepare renders r's pages as spec asks and derives its index rows, and
// Extra with extra (nil: none), all from one view of r. The page links to
// report.md when md is asked for.
func Prepare(ctx context.Context, key string, r *reports.Report, spec PageSpec, extra func(v *reports.View) ([]byte, error)) (*Prepared, error) {
	v := reports.NewView(r)
	rows, err := rowsOfView(ctx, key, r, v)
	if err != nil {
		return nil, err
	}
	p := &Prepared{Status: r.Status, Matches: r.Summary.Matches, Rows: rows}
	if spec.MD {
		p.MD = reports.EncodeMarkdownView(v)
	}
	if extra != nil {
		if p.Extra, err = extra(v); err != nil {
			return nil, err
		}
	}
	if spec.HTML {
		l := reports.Links{Index: "../../" + IndexHTML, JSON: ReportJSON}
		if spec.MD {
			l.MD = ReportMD
		}
		// last: the page makes the view's strings safe in place
		if p.HTML, err = reports.EncodeHTMLView(v, r.SchemaVersion, l); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Encode is p as a worker sends it.
func (p *Prepared) Encode() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(p); err != nil {
		return nil, fmt.Errorf("archive: encode prepared build: %w", err)
	}
	return b.Bytes(), nil
}

// DecodePrepared reads what Encode wrote.
func DecodePrepared(b []byte) (*Prepared, error) {
	var p Prepared
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&p); err != nil {
		return nil, fmt.Errorf("archive: decode prepared build: %w", err)
	}
	if p.Rows == nil {
		return nil, fmt.Errorf("archive: decode prepared build: no index rows")
	}
	return &p, nil
}

// WritePrepared writes build key's report.json (js, the report's bytes as
// the worker encoded them, or the file jsFile the worker wrote them to,
// which is moved) and its prepared pages, each atomically, as WriteBuild
// would for the decoded report: the same bytes, and an earlier report's
// page that was not prepared removed.
func WritePrepared(out, key string, js []byte, jsFile string, p *Prepared) error {
	dir := reports.BuildDir(out, key)
	if _, err := RemoveStalePages(dir, p.MD != nil, p.HTML != nil); err != nil {
		return err
	}
	if jsFile != "" {
		if err := reports.MoveAtomic(jsFile, filepath.Join(dir, ReportJSON)); err != nil {
			return err
		}
	} else if err := reports.WriteAtomic(filepath.Join(dir, ReportJSON), js); err != nil {
		return err
	}
	if p.MD != nil {
		if err := reports.WriteAtomic(filepath.Join(dir, ReportMD), p.MD); err != nil {
			return err
		}
	}
	if p.HTML == nil {
		return nil
	}
	// The page links report.md exactly when one was prepared beside it:
	// an earlier one was removed above.
	return reports.WriteAtomic(filepath.Join(dir, ReportHTML), p.HTML)
}

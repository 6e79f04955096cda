package reports_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tomscan/tomscan/reports"
)

// oldEncodeJSON is EncodeJSON as it was before AppendJSON: an indenting
// json.Encoder into a bytes.Buffer. It is the oracle for AppendJSON.
func oldEncodeJSON(r *reports.Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	var v any = r
	if r.TOMRaw != nil {
		v = struct {
			*reports.Report
			TOM json.RawMessage `json:"tom,omitempty"`
		}{r, r.TOMRaw}
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// TestAppendJSONMatchesIndentingEncoder: every golden report, loaded (so
// with its TOM section kept raw) and as a fresh report (without), encodes
// to the same bytes as the indenting encoder, after any prefix.
func TestAppendJSONMatchesIndentingEncoder(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.report.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden reports: %v", err)
	}
	for _, f := range files {
		r, err := reports.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fresh := *r
		fresh.TOMRaw = nil
		for _, rep := range []*reports.Report{r, &fresh} {
			want, err := oldEncodeJSON(rep)
			if err != nil {
				t.Fatal(err)
			}
			got, err := reports.AppendJSON([]byte("prefix\n"), rep)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, append([]byte("prefix\n"), want...)) {
				t.Errorf("%s (raw TOM %v): AppendJSON differs from the indenting encoder", f, rep.TOMRaw != nil)
			}
		}
	}
}

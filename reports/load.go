package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/tomscan/tomscan/internal/artifact"
)

// MaxReportBytes caps how much of a report file is read: archived reports
// are inputs too (copied around, hand-edited), so their size is not trusted.
const MaxReportBytes = 512 << 20

// DecodeJSON parses a report written by EncodeJSON. Unknown fields are
// ignored (a newer minor version still loads) except in the TOM section,
// which is also kept verbatim in TOMRaw; a missing schema_version is an error.
func DecodeJSON(b []byte) (*Report, error) {
	var r Report
	// json.Unmarshal reads b in place; a Decoder would first copy the whole
	// value into its own buffer (a few hundred MB for a large build). The
	// Decoder stays the judge of anything Unmarshal refuses (it also takes
	// a report followed by other bytes), so errors and leniency are as
	// before.
	if json.Unmarshal(b, &r) != nil {
		r = Report{}
		d := json.NewDecoder(bytes.NewReader(b))
		if err := d.Decode(&r); err != nil {
			return nil, fmt.Errorf("reports: decode json: %w", err)
		}
	}
	if r.SchemaVersion == "" {
		return nil, fmt.Errorf("reports: decode json: no schema_version: not a tomscan report")
	}
	pruneNil(r.Tree)
	var raw struct {
		TOM json.RawMessage `json:"tom"`
	}
	if err := json.Unmarshal(b, &raw); err == nil && len(raw.TOM) > 0 && string(raw.TOM) != "null" {
		r.TOMRaw = raw.TOM
	}
	return &r, nil
}

// ReadFile loads one report.json, reading at most MaxReportBytes.
func ReadFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reports: open %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reports: read %s: %w", path, err)
	}
	if len(b) > MaxReportBytes {
		return nil, fmt.Errorf("reports: %s is larger than %d bytes", path, MaxReportBytes)
	}
	r, err := DecodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// pruneNil drops null children, which JSON can hold and a scan never writes,
// so that every walker of a loaded tree can trust its nodes are non-nil.
func pruneNil(n *artifact.Node) {
	if n == nil {
		return
	}
	kept := n.Children[:0]
	for _, c := range n.Children {
		if c != nil {
			pruneNil(c)
			kept = append(kept, c)
		}
	}
	n.Children = kept
}

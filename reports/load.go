package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/tom"
)

// MaxReportBytes caps how much of a report file is read: archived reports
// are inputs too (copied around, hand-edited), so their size is not trusted.
const MaxReportBytes = 512 << 20

// DecodeJSON parses a report written by EncodeJSON. Unknown fields are
// ignored (a newer minor version still loads) except in the TOM section,
// which is also kept verbatim in TOMRaw; a missing schema_version is an error.
//
// The document is parsed once: the "tom" section is kept verbatim as it
// is decoded (tomSection). A second parse of the whole document for it was
// a third of the scan parent's decoding of its workers' reports.
func DecodeJSON(b []byte) (*Report, error) {
	var r Report
	var raw json.RawMessage
	in := reportDecoding{Report: &r, TOM: tomSection{dst: &r.TOM, raw: &raw}}
	// json.Unmarshal reads b in place; a Decoder would first copy the whole
	// value into its own buffer (a few hundred MB for a large build). The
	// Decoder stays the judge of anything Unmarshal refuses (it also takes
	// a report followed by other bytes), so errors and leniency are as
	// before.
	trailing := false
	if json.Unmarshal(b, &in) != nil {
		r, raw = Report{}, nil
		d := json.NewDecoder(bytes.NewReader(b))
		if err := d.Decode(&in); err != nil {
			return nil, fmt.Errorf("reports: decode json: %w", err)
		}
		// As a json.Unmarshal of the whole input would: no TOMRaw when
		// anything but white space follows the report (the decoder stops
		// after it).
		trailing = len(bytes.Trim(b[d.InputOffset():], " \t\r\n")) > 0
	}
	if r.SchemaVersion == "" {
		return nil, fmt.Errorf("reports: decode json: no schema_version: not a tomscan report")
	}
	pruneNil(r.Tree)
	if !trailing && len(raw) > 0 && string(raw) != "null" {
		r.TOMRaw = raw
	}
	return &r, nil
}

// reportDecoding is a Report whose "tom" member goes to tomSection (a
// field at a shallower depth wins over the embedded Report's).
type reportDecoding struct {
	*Report
	TOM tomSection `json:"tom"`
}

// tomSection decodes the "tom" member into *dst as the Report's own field
// would be (into the value already there, for a repeated member), and keeps
// its bytes, the last member's, as json.RawMessage would.
type tomSection struct {
	dst **tom.Result
	raw *json.RawMessage
}

func (t tomSection) UnmarshalJSON(b []byte) error {
	*t.raw = append((*t.raw)[:0:0], b...)
	return json.Unmarshal(b, t.dst)
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

// ReadRules reads the "rules" section of a report file without decoding
// the rest: a scan deciding which builds it can reuse needs that of one
// archived report, and decoding a whole TOM build's report (its keyword
// lists, its tree) for it was a tenth of a rescan that reuses every build.
// The section is the document's first "rules" member, after a
// schema_version (a report tomscan wrote has each once, first among its
// members); what follows it is not read.
func ReadRules(path string) (RulesInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return RulesInfo{}, fmt.Errorf("reports: open %s: %w", path, err)
	}
	defer f.Close()
	d := json.NewDecoder(io.LimitReader(f, MaxReportBytes))
	fail := func(err error) (RulesInfo, error) {
		return RulesInfo{}, fmt.Errorf("reports: %s: rules: %w", path, err)
	}
	if tok, err := d.Token(); err != nil {
		return fail(err)
	} else if tok != json.Delim('{') {
		return fail(fmt.Errorf("not a JSON object"))
	}
	var schema string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return fail(err)
		}
		switch tok {
		case "schema_version":
			err = d.Decode(&schema)
		case "rules":
			if schema == "" {
				return fail(fmt.Errorf("no schema_version before them: not a tomscan report"))
			}
			var ri RulesInfo
			if err := d.Decode(&ri); err != nil {
				return fail(err)
			}
			return ri, nil
		default:
			var skip json.RawMessage
			err = d.Decode(&skip)
		}
		if err != nil {
			return fail(err)
		}
	}
	return fail(fmt.Errorf("none in the report"))
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

package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeJSONTwoPass is DecodeJSON as it was, parsing the document a second
// time for the "tom" section: the reference the one-pass decoder is held to.
func decodeJSONTwoPass(b []byte) (*Report, error) {
	var r Report
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("reports: decode json: %w", err)
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

// TestDecodeJSONOnePassEqualsTwoPass: the same Report (TOM section and
// TOMRaw included) or an error where the two-pass decoder gives one, for
// the golden reports and for documents built to tell them apart.
func TestDecodeJSONOnePassEqualsTwoPass(t *testing.T) {
	docs := map[string][]byte{}
	golden, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if len(golden) == 0 {
		t.Fatal("no golden reports")
	}
	for _, p := range golden {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(p)] = b
		s := string(b)
		i := strings.Index(s, `"tom":`)
		if i < 0 {
			continue
		}
		docs[p+" trailing garbage"] = append(append([]byte{}, b...), []byte("\n  x")...)
		docs[p+" trailing space"] = append(append([]byte{}, b...), []byte(" \n\t\r\n")...)
		docs[p+" tom null"] = []byte(s[:i] + `"tom": null, "tom_was":` + s[i+len(`"tom":`):])
		// a repeated member: the decoder merges into the first, the raw
		// bytes are the last's
		docs[p+" tom repeated"] = []byte(s[:i] + `"tom": {"verdict": {"kind": "x", "confidence": 0.5}}, ` + s[i:])
		docs[p+" tom wrong type"] = []byte(s[:i] + `"tom": {"verdict": 5}, ` + s[i:])
	}
	docs["no tom"] = []byte(`{"schema_version": "2.2.0", "build": {"path": "a.exe"}}`)
	docs["no schema"] = []byte(`{"tom": {}}`)
	docs["not json"] = []byte(`{"schema_version": "2.2.0", "tom": {`)
	for name, b := range docs {
		want, werr := decodeJSONTwoPass(b)
		got, gerr := DecodeJSON(b)
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%s: error %v, want %v", name, gerr, werr)
			continue
		}
		if werr != nil {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: one-pass decode differs from the two-pass one", name)
		}
		if want.TOMRaw == nil && !strings.Contains(name, "garbage") && !strings.Contains(name, "null") && strings.Contains(string(b), `"tom":`) && name != "no tom" {
			t.Errorf("%s: the reference kept no TOM section: the case proves nothing", name)
		}
	}
}

// TestReadRules: the rules section ReadRules reads is DecodeJSON's, for
// every golden report; it is not read from what is not a report.
func TestReadRules(t *testing.T) {
	golden, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if len(golden) == 0 {
		t.Fatal("no golden reports")
	}
	withRules := 0
	for _, p := range golden {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := DecodeJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadRules(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !reflect.DeepEqual(got, want.Rules) {
			t.Errorf("%s: ReadRules %+v, DecodeJSON %+v", p, got, want.Rules)
		}
		if got.Digest != "" {
			withRules++
		}
	}
	if withRules == 0 {
		t.Fatal("no golden report names its rules: the test shows nothing")
	}
	dir := t.TempDir()
	for name, doc := range map[string]string{
		"not an object":     `["rules"]`,
		"no schema_version": `{"tool": {}, "rules": {"digest": "d", "count": 1}}`,
		"no rules":          `{"schema_version": "2.2.0", "tool": {}}`,
		"cut in the rules":  `{"schema_version": "2.2.0", "rules": {"digest": "d", "co`,
		"empty":             ``,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if ri, err := ReadRules(p); err == nil {
			t.Errorf("%s: rules %+v, want an error", name, ri)
		}
	}
	if _, err := ReadRules(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file: no error")
	}
}

package export

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// oasisLoader serves the OASIS STIX schema set from a local checkout of
// github.com/oasis-open/cti-stix2-json-schemas. Those files name each other by
// their published address (raw.githubusercontent.com/.../schemas/...), which
// this maps onto the folder, so the validation never reaches the network.
type oasisLoader struct{ schemasDir string }

func (l oasisLoader) Load(u string) (any, error) {
	p, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("oasis schemas: parse %q: %w", u, err)
	}
	local := p.Path
	if p.Scheme != "file" {
		i := strings.Index(p.Path, "/schemas/")
		if i < 0 {
			return nil, fmt.Errorf("oasis schemas: %q is not under schemas/", u)
		}
		local = filepath.Join(l.schemasDir, filepath.FromSlash(p.Path[i+len("/schemas/"):]))
	}
	f, err := os.Open(local)
	if err != nil {
		return nil, fmt.Errorf("oasis schemas: %w", err)
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

// TestSTIXAgainstOASISSchemas validates the export against the OASIS STIX 2.1
// JSON schemas when a checkout of them is named by TOMSCAN_STIX_SCHEMAS (the
// repository's root or its schemas/ folder). They are not vendored: no registry
// this project builds from serves them (reports/export/testdata/README.md), so
// the test runs where a user or a CI with that checkout provides it.
func TestSTIXAgainstOASISSchemas(t *testing.T) {
	dir := os.Getenv("TOMSCAN_STIX_SCHEMAS")
	if dir == "" {
		t.Skip("TOMSCAN_STIX_SCHEMAS not set: no OASIS STIX 2.1 schema checkout to validate against")
	}
	if _, err := os.Stat(filepath.Join(dir, "schemas", "common", "bundle.json")); err == nil {
		dir = filepath.Join(dir, "schemas")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(dir, "common", "bundle.json")
	if _, err := os.Stat(bundlePath); err != nil {
		t.Fatalf("TOMSCAN_STIX_SCHEMAS=%s: no common/bundle.json: %v", os.Getenv("TOMSCAN_STIX_SCHEMAS"), err)
	}
	loader := oasisLoader{schemasDir: dir}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{"file": loader, "http": loader, "https": loader})
	c.AssertFormat()
	sch, err := c.Compile("file://" + filepath.ToSlash(bundlePath))
	if err != nil {
		t.Fatalf("compile OASIS bundle schema: %v", err)
	}

	var buf bytes.Buffer
	if err := WriteSTIX(&buf, Records(fixtures(), nil), STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("export does not validate against the OASIS schemas: %v", err)
	}

	// And the checkout is not a rubber stamp: a 2.0 bundle is refused.
	bad := bytes.Replace(buf.Bytes(), []byte(`"spec_version": "2.1"`), []byte(`"spec_version": "2.0"`), 1)
	inst, err = jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if sch.Validate(inst) == nil {
		t.Error("OASIS schemas accepted an object with spec_version 2.0")
	}
}

// The loader maps published addresses onto the checkout, whatever the host.
func TestOASISLoaderMapsPublishedAddresses(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "common"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "common", "core.json"), []byte(`{"type":"object"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	l := oasisLoader{schemasDir: dir}
	for _, u := range []string{
		"http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/core.json",
		"https://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/master/schemas/common/core.json",
	} {
		if _, err := l.Load(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if _, err := l.Load("https://example.org/elsewhere.json"); err == nil {
		t.Error("an address outside schemas/ was served")
	}
}

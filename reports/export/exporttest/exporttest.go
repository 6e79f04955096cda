// Package exporttest serves the export tests of more than one package: the
// STIX 2.1 schema that bundles are validated against.
package exporttest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// STIXSchema compiles reports/export/testdata/stix21-subset.schema.json
// (found beside this package, whatever the caller's folder).
func STIXSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	f, err := os.Open(filepath.Join(filepath.Dir(self), "..", "testdata", "stix21-subset.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const id = "https://github.com/tomscan/tomscan/reports/export/testdata/stix21-subset.schema.json"
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

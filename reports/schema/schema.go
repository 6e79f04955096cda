// Package schema holds the JSON Schema (draft 2020-12) of a build's report,
// report.schema.json, and validates reports against it.
//
// The schema is generated from the Go types the report is encoded from
// (Generate), plus the constraints Go types cannot say (enums, patterns,
// see constraints), so it describes every field, down to the PE summary
// and the TOM section. TestSchemaIsCurrent fails when a type changes and
// the committed file was not regenerated (go test ./reports/schema -update);
// such a change also bumps reports.SchemaVersion.
package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// JSON is the committed report.schema.json.
//
//go:embed report.schema.json
var JSON []byte

// ID is the schema's $id.
const ID = "https://github.com/tomscan/tomscan/reports/schema/report.schema.json"

var (
	once     sync.Once
	compiled *jsonschema.Schema
	errComp  error
)

func compile() (*jsonschema.Schema, error) {
	once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSON))
		if err != nil {
			errComp = fmt.Errorf("schema: parse report.schema.json: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource(ID, doc); err != nil {
			errComp = fmt.Errorf("schema: add resource: %w", err)
			return
		}
		compiled, errComp = c.Compile(ID)
		if errComp != nil {
			errComp = fmt.Errorf("schema: compile: %w", errComp)
		}
	})
	return compiled, errComp
}

// Validate checks one report.json document against the schema.
func Validate(report []byte) error {
	s, err := compile()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(report))
	if err != nil {
		return fmt.Errorf("schema: parse report: %w", err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	return nil
}

package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/tomscan/tomscan/reports"
)

// constraints are what the Go types cannot say, by "<def>.<json field>".
var constraints = map[string]map[string]any{
	"reports.Report.schema_version": {"pattern": `^[0-9]+\.[0-9]+\.[0-9]+$`},
	"reports.Report.status":         {"enum": []string{reports.StatusSucceeded, reports.StatusPartial, reports.StatusFailed}},
	"reports.Report.scanned_at":     {"format": "date-time"},
	"reports.BuildRef.sha256":       {"pattern": "^[0-9a-f]{64}$"},
	"reports.Cache.key":             {"pattern": "^[0-9a-f]{64}$"},
	"reports.Cache.keyword_lists":   {"pattern": "^[0-9a-f]{64}$"},
	"reports.Cache.trust_store":     {"pattern": "^[0-9a-f]{64}$"},
	"reports.Cache.geoip":           {"pattern": "^[0-9a-f]{64}$"},
	"reports.BuildRef.md5":          {"pattern": "^[0-9a-f]{32}$"},
	"reports.BuildRef.sha1":         {"pattern": "^[0-9a-f]{40}$"},
	"artifact.Node.sha256":          {"pattern": "^([0-9a-f]{64})?$"},
	"artifact.Node.md5":             {"pattern": "^([0-9a-f]{32})?$"},
	"artifact.Node.sha1":            {"pattern": "^([0-9a-f]{40})?$"},
	"artifact.Node.depth":           {"minimum": 0},
	"artifact.Node.size":            {"minimum": 0},
	"artifact.Node.path":            {"minItems": 1},
	"artifact.Issue.kind": {"enum": []string{"limit", "unsafe-name", "extract-error", "parse-error", "tool-missing",
		"unsupported", "timeout", "read-error", "scan-error", "panic", "worker-crashed", "encrypted", "unsupported-format", "truncated", "malformed"}},
	"tom.Verdict.kind": {"enum": []string{"regular-skype", "tom-skype-english", "tom-skype-chinese",
		"post-tom-joint-venture", "unrelated", "undetermined"}},
	"tom.Verdict.confidence": {"minimum": 0, "maximum": 1},
}

var durationType = reflect.TypeOf(time.Duration(0))

// Generate derives the schema from reports.Report.
func Generate() ([]byte, error) {
	g := &generator{defs: map[string]any{}}
	root := g.def(reflect.TypeOf(reports.Report{}))
	doc := map[string]any{
		"$schema":          "https://json-schema.org/draft/2020-12/schema",
		"$id":              ID,
		"title":            "tomscan build report",
		"description":      "One build's report, as written to OUT/builds/<sha256>/report.json. Generated from the Go types by reports/schema; do not edit by hand.",
		"x-tomscan-schema": reports.SchemaVersion,
		"$ref":             root["$ref"],
		"$defs":            g.defs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("schema: encode: %w", err)
	}
	return buf.Bytes(), nil
}

type generator struct {
	defs map[string]any
}

// defName is "<package>.<Type>", e.g. "artifact.Node".
func defName(t reflect.Type) string {
	pkg := t.PkgPath()
	return pkg[strings.LastIndex(pkg, "/")+1:] + "." + t.Name()
}

// def puts struct t into $defs once (recursion-safe) and returns a $ref.
func (g *generator) def(t reflect.Type) map[string]any {
	name := defName(t)
	ref := map[string]any{"$ref": "#/$defs/" + name}
	if _, ok := g.defs[name]; ok {
		return ref
	}
	g.defs[name] = nil // placeholder against recursion
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			jname, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && jname == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if jname == "" {
				jname = f.Name
			}
			omit := strings.Contains(opts, "omitempty")
			s := g.schema(f.Type, !omit)
			for k, v := range constraints[name+"."+jname] {
				s[k] = v
			}
			props[jname] = s
			if !omit {
				required = append(required, jname)
			}
		}
	}
	walk(t)
	d := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		d["required"] = required
	}
	g.defs[name] = d
	return ref
}

// schema describes a value of type t. nullable: Go writes nil slices, maps
// and pointers as null when the field has no omitempty.
func (g *generator) schema(t reflect.Type, nullable bool) map[string]any {
	orNull := func(typ string) any {
		if nullable {
			return []string{typ, "null"}
		}
		return typ
	}
	if t == durationType {
		return map[string]any{"type": "integer", "description": "nanoseconds"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		inner := g.schema(t.Elem(), false)
		if nullable {
			return map[string]any{"anyOf": []any{inner, map[string]any{"type": "null"}}}
		}
		return inner
	case reflect.Struct:
		return g.def(t)
	case reflect.Slice:
		if t == reflect.TypeOf(json.RawMessage{}) {
			return map[string]any{} // any JSON value
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": orNull("string"), "contentEncoding": "base64"}
		}
		return map[string]any{"type": orNull("array"), "items": g.schema(t.Elem(), false)}
	case reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), false), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return map[string]any{"type": orNull("object"), "additionalProperties": g.schema(t.Elem(), false)}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface:
		return map[string]any{}
	}
	panic(fmt.Sprintf("schema: no rule for %s", t))
}

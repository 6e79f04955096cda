package rules

import (
	"context"
	"errors"
	"reflect"
	"testing"

	yara "github.com/hillu/go-yara/v4"
)

// compileReference is Compile as it was before it compiled a good set once:
// every file alone first (all errors, each file's warnings), then the whole
// set. It is the oracle for Compile's errors, warnings and names.
func compileReference(sources []Source) (*Set, error) {
	var msgs, warns []string
	for _, src := range sources {
		r, w, m := compileReferenceOne([]Source{src})
		if r != nil {
			r.Destroy()
		}
		msgs = append(msgs, m...)
		warns = append(warns, w...)
	}
	if len(msgs) > 0 {
		return nil, &CompileError{Messages: msgs}
	}
	r, _, m := compileReferenceOne(sources)
	if len(m) > 0 {
		return nil, &CompileError{Messages: m}
	}
	return newSet(r, sources, warns), nil
}

// compileReferenceOne is the reference's one compiler run: warnings named
// by the file only when there is one file.
func compileReferenceOne(sources []Source) (r *yara.Rules, warns, msgs []string) {
	c, err := yara.NewCompiler()
	if err != nil {
		return nil, nil, []string{err.Error()}
	}
	defer c.Destroy()
	c.DisableIncludes()
	for _, kv := range (Variables{}).pairs() {
		if err := c.DefineVariable(kv.name, kv.value); err != nil {
			return nil, nil, []string{err.Error()}
		}
	}
	for _, src := range sources {
		if err := c.AddString(string(src.Text), src.Namespace); err != nil {
			return nil, format(src.Path, c.Warnings), format(src.Path, c.Errors)
		}
	}
	path := ""
	if len(sources) == 1 {
		path = sources[0].Path
	}
	warns = format(path, c.Warnings)
	r, err = c.GetRules()
	if err != nil {
		return nil, warns, []string{err.Error()}
	}
	return r, warns, nil
}

func TestCompileMatchesReference(t *testing.T) {
	load := func(p string) []Source {
		t.Helper()
		s, err := LoadPath(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	warnings := Source{Namespace: "warns", Path: "warns.yar", Text: []byte(`
rule Slow { strings: $a = /a.*b/ condition: $a }
rule AlsoSlow { strings: $b = { 00 ?? } condition: $b }
`)}
	warnings2 := Source{Namespace: "warns2", Path: "more/warns2.yar", Text: []byte(`
rule Slow2 { strings: $c = /x.*y/ condition: $c }
`)}
	sameNamespace := load("testdata/lint/dup")
	for i := range sameNamespace {
		sameNamespace[i].Namespace = "dup"
	}
	cases := map[string][]Source{
		"builtin":              builtin,
		"lint":                 load("testdata/lint"),
		"broken":               load("testdata/broken"),
		"builtin+broken":       append(append([]Source{}, builtin...), load("testdata/broken")...),
		"broken+warnings+lint": append(append([]Source{warnings}, load("testdata/broken")...), load("testdata/lint")...),
		"warnings+builtin":     append(append([]Source{warnings}, builtin...), warnings2),
		"duplicate across":     sameNamespace,
		"builtin twice":        append(append([]Source{}, builtin...), builtin...),
	}
	for name, srcs := range cases {
		t.Run(name, func(t *testing.T) {
			got, gerr := Compile(context.Background(), srcs)
			want, werr := compileReference(srcs)
			var gce, wce *CompileError
			if errors.As(werr, &wce) {
				if !errors.As(gerr, &gce) || !reflect.DeepEqual(gce.Messages, wce.Messages) {
					t.Fatalf("errors: got %v, want %v", gerr, werr)
				}
				t.Logf("%d errors", len(gce.Messages))
				return
			}
			if werr != nil || gerr != nil {
				t.Fatalf("got %v, want %v", gerr, werr)
			}
			if !reflect.DeepEqual(got.Warnings, want.Warnings) || !reflect.DeepEqual(got.Names, want.Names) || got.Digest != want.Digest {
				t.Errorf("got warnings %q names %v digest %s\nwant warnings %q names %v digest %s", got.Warnings, got.Names, got.Digest, want.Warnings, want.Names, want.Digest)
			}
			t.Logf("%d warnings, %d rules", len(got.Warnings), len(got.Names))
		})
	}
}

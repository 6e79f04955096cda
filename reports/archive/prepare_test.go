package archive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// TestPreparedEqualsWriteBuild: a build prepared where it was scanned
// (Prepare, sent as Encode's bytes, DecodePrepared), written with
// WritePrepared and upserted from its rows, leaves the same files, byte for
// byte, and the same index as WriteBuild and Upsert of the report, for every
// fixture and every choice of pages, including a page that must link an
// earlier run's report.md.
func TestPreparedEqualsWriteBuild(t *testing.T) {
	ctx := context.Background()
	specs := []archive.PageSpec{{}, {MD: true}, {HTML: true}, {MD: true, HTML: true}}
	for _, spec := range specs {
		for _, earlierMD := range []bool{false, true} {
			want, got := t.TempDir(), t.TempDir()
			formats := map[string]bool{"md": spec.MD, "html": spec.HTML}
			xw, err := archive.Open(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			xg, err := archive.Open(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			all := reportstest.All()
			var keys []string
			for k := range all {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				r := all[k]
				if earlierMD {
					for _, out := range []string{want, got} {
						if err := archive.WriteBuild(out, k, r, map[string]bool{"md": true}); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := archive.WriteBuild(want, k, r, formats); err != nil {
					t.Fatal(err)
				}
				if err := xw.Upsert(ctx, k, r); err != nil {
					t.Fatal(err)
				}
				p, err := archive.Prepare(ctx, k, r, spec, nil)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := p.Encode()
				if err != nil {
					t.Fatal(err)
				}
				p, err = archive.DecodePrepared(raw)
				if err != nil {
					t.Fatal(err)
				}
				js, err := reports.EncodeJSON(r)
				if err != nil {
					t.Fatal(err)
				}
				if err := archive.WritePrepared(got, k, js, "", p); err != nil {
					t.Fatal(err)
				}
				if err := xg.UpsertBatch(ctx, []archive.Keyed{{Key: k, Rows: p.Rows}}); err != nil {
					t.Fatal(err)
				}
				if p.Status != r.Status || p.Matches != r.Summary.Matches {
					t.Errorf("%s: prepared status %q, %d matches; report %q, %d", k, p.Status, p.Matches, r.Status, r.Summary.Matches)
				}
			}
			for _, x := range []*archive.Index{xw, xg} {
				if err := x.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				if err := x.Close(); err != nil {
					t.Fatal(err)
				}
			}
			name := func() string {
				return strings.TrimSpace(strings.Join([]string{map[bool]string{true: "md"}[spec.MD], map[bool]string{true: "html"}[spec.HTML], map[bool]string{true: "(earlier md)"}[earlierMD]}, " "))
			}
			sameTree(t, name(), want, got)
			if w, g := dump(t, want), dump(t, got); !slices.Equal(w, g) {
				t.Errorf("%s: index from prepared rows differs:\n%s", name(), diffLines(g, w))
			}
		}
	}
}

// sameTree compares every file under two archives, bytes for bytes.
func sameTree(t *testing.T, name, want, got string) {
	t.Helper()
	files := func(root string) map[string][]byte {
		m := map[string][]byte{}
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "index.sqlite") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			m[rel] = b
			return nil
		})
		return m
	}
	w, g := files(want), files(got)
	for f, b := range w {
		if !bytes.Equal(g[f], b) {
			t.Errorf("%s: %s differs (or is missing) when prepared", name, f)
		}
	}
	for f := range g {
		if _, ok := w[f]; !ok {
			t.Errorf("%s: %s written only when prepared", name, f)
		}
	}
}

// TestPreparedRowsAreChecked: rows that could not be the build's (another
// build's key, an unknown table, a value of an odd type) are refused, not
// upserted; a bundle that is not one is refused by DecodePrepared.
func TestPreparedRowsAreChecked(t *testing.T) {
	ctx := context.Background()
	key := reportstest.TOMKey
	good := func() *archive.Rows {
		rows, err := archive.RowsOf(ctx, key, reportstest.TOM())
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	bad := map[string]func(r *archive.Rows){
		"another build's row": func(r *archive.Rows) { r.Tables["nodes"][0][0] = reportstest.RegularKey },
		"unknown table":       func(r *archive.Rows) { r.Tables["sqlite_master"] = [][]any{{key}} },
		"odd value type": func(r *archive.Rows) {
			r.Tables["matches"] = append(r.Tables["matches"], []any{key, "n", []byte("x"), "r"})
		},
		"empty row":                  func(r *archive.Rows) { r.Tables["endpoints"] = append(r.Tables["endpoints"], []any{}) },
		"a list named but not given": func(r *archive.Rows) { clear(r.Lists) },
		"a short build_lists row":    func(r *archive.Rows) { r.Tables["build_lists"] = append(r.Tables["build_lists"], []any{key}) },
		"a list under another list's digest": func(r *archive.Rows) {
			for d := range r.Lists {
				r.Lists[d] = append(slices.Clone(r.Lists[d]), "planted")
			}
		},
	}
	for name, spoil := range bad {
		out := t.TempDir()
		x, err := archive.Open(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		rows := good()
		spoil(rows)
		if err := x.UpsertBatch(ctx, []archive.Keyed{{Key: key, Rows: rows}}); err == nil {
			t.Errorf("%s: upserted", name)
		}
		x.Close()
	}
	out := t.TempDir()
	x, err := archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.UpsertBatch(ctx, []archive.Keyed{{Key: key, Rows: good()}}); err != nil {
		t.Errorf("good rows refused: %v", err)
	}
	for _, raw := range [][]byte{nil, []byte("not gob"), {0x03, 0xff, 0x81}} {
		if _, err := archive.DecodePrepared(raw); err == nil {
			t.Errorf("DecodePrepared(%q) accepted", raw)
		}
	}
}

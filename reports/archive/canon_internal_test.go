package archive

import (
	"context"
	"path/filepath"
	"testing"
)

// Every table of the index layout is copied by Canonicalize: a table left
// out of canonicalOrder would be emptied by the first Flush.
func TestCanonicalOrderCoversEveryTable(t *testing.T) {
	ctx := context.Background()
	db, err := openRW(ctx, filepath.Join(t.TempDir(), IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := createSchema(ctx, db); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	copied := map[string]bool{}
	for _, c := range canonicalOrder {
		copied[c.table] = true
	}
	n := 0
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		n++
		if !copied[name] {
			t.Errorf("table %s is not in canonicalOrder", name)
		}
	}
	if n != len(canonicalOrder) {
		t.Errorf("%d tables in the layout, %d in canonicalOrder", n, len(canonicalOrder))
	}
}

package archive

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
)

// canonicalOrder is how canonicalize copies each table: builds by key, a
// build's other rows by key and then in the order its upsert inserted them
// (tree order, report order), which is the order a rebuild in key order
// gives them.
var canonicalOrder = []struct{ table, order string }{
	{"builds", "sha256"},
	{"nodes", "build, rowid"},
	{"matches", "build, rowid"},
	{"endpoints", "build, rowid"},
	{"keywords", "build, rowid"},
}

// canonicalize rewrites the index file at path into a fresh database whose
// bytes depend only on its rows, not on the order upserts came in (jobs
// finishing in any order, shards merged in any order, an interrupted run
// resumed): the same schema transaction, then one transaction copying
// every table in canonicalOrder, written to a temp file (.tmp-index*, swept
// after a kill) and renamed over path. The caller's connection to path must
// be closed (its data committed) before, and reopened after.
//
// SQLite does the copy itself, streaming: no row is held in Go's memory.
func canonicalize(ctx context.Context, path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+IndexDB+"-canonical-")
	if err != nil {
		return fmt.Errorf("archive: canonical index temp file: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp) // no-op after the rename
	db, err := openRW(ctx, tmp)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := createSchema(ctx, db); err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("archive: index path: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ATTACH DATABASE ? AS src`, abs); err != nil {
		return fmt.Errorf("archive: canonical index: attach %s: %w", path, err)
	}
	if err := copyCanonical(ctx, db); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `DETACH DATABASE src`); err != nil {
		return fmt.Errorf("archive: canonical index: detach: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("archive: close canonical index: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("archive: rename canonical index: %w", err)
	}
	return nil
}

func copyCanonical(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("archive: canonical index begin: %w", err)
	}
	defer tx.Rollback()
	for _, t := range canonicalOrder {
		q := `INSERT INTO main.` + t.table + ` SELECT * FROM src.` + t.table + ` ORDER BY ` + t.order
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("archive: canonical index copy %s: %w", t.table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("archive: canonical index commit: %w", err)
	}
	return nil
}

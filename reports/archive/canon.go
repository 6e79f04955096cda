package archive

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
)

// An index upserted build by build as reports are written holds the same
// rows whatever order the builds finished in, but not the same bytes: its
// rowids and pages follow that order, which depends on --jobs, on timing,
// and on where an earlier run was killed. Canonicalize rewrites it in one
// canonical order, the order rebuildIndex (`tomscan report`) writes, so that
// the same reports give the same index.sqlite byte for byte however they
// were scanned: at -j1 or -j8, interrupted and rerun, or merged from shards.

// metaCanonical is the meta key Canonicalize sets and the first upsert of a
// run removes (before it writes): an index without it may hold rows in the
// order a killed run left them, and is canonicalized at the next Flush even
// when that run upserts nothing.
const metaCanonical = "canonical"

// transferred, as a table's order in canonicalOrder, is its primary key's,
// in which a WITHOUT ROWID table's rows are stored: they are copied as they
// are (copyCanonical).
const transferred = ""

// canonicalOrder is each table's rows in the order rebuildIndex inserts
// them: builds by key, and each build's rows in the order its upsert
// inserted them (tree order: their rowids are consecutive and ascending).
var canonicalOrder = []struct{ table, order string }{
	{"meta", "key"}, // without the canonical mark: it is set after the copy
	{"builds", "sha256"},
	{"nodes", "build, rowid"},
	{"matches", "build, rowid"},
	{"endpoints", "build, rowid"},
	{"build_meta", "sha256"},
	{"build_lists", "build, rowid"},
	{"list_keywords", transferred}, // WITHOUT ROWID, keyed (digest, position): stored in canonical order
	{"page_links", "sha256"},
}

// Canonicalize rewrites OUT/index.sqlite with its rows in canonical order:
// a fresh database with the schema, every table copied by value in that
// order in one transaction (no VACUUM: a fresh file filled by the same
// statements with the same rows is the same file, and it is already
// compact); written to a temp file in OUT and renamed over the index, so a
// crash leaves the old index (and a temp file the next run sweeps). The
// index must not be open for writing elsewhere. Its bytes equal those of an
// index rebuilt from the same reports (Reindex). The cost is one copy of the
// index: measured in BenchmarkCanonicalize and README "Archive index".
func Canonicalize(ctx context.Context, out string) error {
	return canonicalize(ctx, out, nil)
}

// canonicalize is Canonicalize; before renaming the copy over the index it
// waits for before (when not nil) and gives up, leaving the index as it
// was, when that fails. Flush renders index.html meanwhile and must have
// written it before the canonical mark can be seen (see Flush).
func canonicalize(ctx context.Context, out string, before <-chan error) error {
	path := filepath.Join(out, IndexDB)
	wait := func() error {
		if before == nil {
			return nil
		}
		err := <-before
		before = nil
		return err
	}
	defer wait() // never leave the caller's work running
	src, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("archive: canonicalize: %w", err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("archive: canonicalize: %w", err)
	}
	f, err := os.CreateTemp(out, ".tmp-"+IndexDB+"-")
	if err != nil {
		return fmt.Errorf("archive: canonicalize: index temp file: %w", err)
	}
	tmp := f.Name()
	f.Close()            // SQLite takes an empty file for a new database
	defer os.Remove(tmp) // no-op after the rename
	db, err := openRW(ctx, tmp)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := copyCanonical(ctx, db, src, fi.Size()); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("archive: canonicalize: close: %w", err)
	}
	if err := wait(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("archive: canonicalize: rename: %w", err)
	}
	return nil
}

// copyCanonical fills the empty database db from the index at src, of
// size bytes.
func copyCanonical(ctx context.Context, db *sql.DB, src string, size int64) error {
	conn, err := db.Conn(ctx) // ATTACH holds for one connection
	if err != nil {
		return fmt.Errorf("archive: canonicalize: %w", err)
	}
	defer conn.Close()
	// The temp file is renamed into place only once complete, so it needs
	// no rollback journal, from its first write on (the schema is made in
	// the copy's transaction). The page cache is small: a page written
	// and left behind is only spilled to the file early, without a journal,
	// while each page the cache takes is memory touched for the first time
	// (a rules-only rescan's canonical copy: 256 KiB against SQLite's
	// default 2 MB, 53 -> 40 ms; a 64 MiB cache held most of a 10,000-build
	// index in memory, peak RSS 181 MB against 77 MB at 100 builds, and was
	// no faster).
	for _, p := range []string{`PRAGMA journal_mode = OFF`, `PRAGMA cache_size = -256`} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("archive: canonicalize: %s: %w", p, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, "file:"+src+"?mode=ro"); err != nil {
		return fmt.Errorf("archive: canonicalize: attach %s: %w", src, err)
	}
	// A small index is read through a mapping of its file: pages come
	// straight from the kernel's cache instead of a read and a page-cache
	// buffer each (fresh memory, a fault per page: a rules-only rescan's
	// Flush 81 -> 70 ms, medians of 15 runs). A large one is read as
	// before: mapped pages count as resident, and memory is what matters
	// there (flushTogetherBelow).
	if size < flushTogetherBelow {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA src.mmap_size = %d`, flushTogetherBelow)); err != nil {
			return fmt.Errorf("archive: canonicalize: mmap_size: %w", err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("archive: canonicalize: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schemaSQL); err != nil { // indexSQL once the rows are in
		return fmt.Errorf("archive: canonicalize: schema: %w", err)
	}
	for _, t := range canonicalOrder {
		q := `INSERT INTO main.` + t.table + ` SELECT * FROM src.` + t.table
		switch {
		case t.table == "meta":
			q += ` WHERE key != '` + metaCanonical + `' ORDER BY ` + t.order
		case t.order == transferred:
			// In key order as it is stored: SQLite copies the records
			// and the keyword index's entries as they are (its
			// transfer optimization: an INSERT of SELECT * with no
			// WHERE or ORDER BY, into an empty table whose every index
			// has a twin in the source), without decoding a row or
			// sorting the index. A rules-only rescan's Flush: 53 -> 40
			// ms with the small cache below; list_keywords and its index
			// are three quarters of a synthetic corpus's index. The
			// twin is in every index this package writes, and Open
			// rebuilds one without it (usable): copied row by row, the
			// same rows would not make the same bytes.
			if _, err := tx.ExecContext(ctx, listKeywordsIndexSQL); err != nil {
				return fmt.Errorf("archive: canonicalize: index of %s: %w", t.table, err)
			}
		default:
			q += ` ORDER BY ` + t.order
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("archive: canonicalize: copy %s: %w", t.table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, secondaryIndexSQL); err != nil {
		return fmt.Errorf("archive: canonicalize: indexes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO main.meta VALUES (?, '1')`, metaCanonical); err != nil {
		return fmt.Errorf("archive: canonicalize: meta: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("archive: canonicalize: commit: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `DETACH DATABASE src`); err != nil {
		return fmt.Errorf("archive: canonicalize: detach: %w", err)
	}
	return nil
}

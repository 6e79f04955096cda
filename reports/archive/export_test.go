package archive

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// CloneBuilds grows an archive's index to about n builds for page tests:
// every indexed build is copied, in SQL, as many times as it takes, each
// copy with its own key, path, version and dates (link time one day later
// per copy, snapshot twenty days after that). Only the index is written,
// no reports: the index page needs nothing else. A 10,000-build index
// takes a few statements instead of 10,000 upserts.
func CloneBuilds(ctx context.Context, out string, n int) (int, error) {
	db, err := openRW(ctx, filepath.Join(out, IndexDB))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var have int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM builds`).Scan(&have); err != nil || have == 0 {
		return 0, fmt.Errorf("clone builds: %d builds to copy: %v", have, err)
	}
	copies := n/have - 1
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	key := func(col string) string { return `substr(b.` + col + `, 1, 56) || printf('%08x', c.i)` }
	for _, q := range []string{
		`CREATE TEMP TABLE copies AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) SELECT i FROM c`,
		`CREATE TEMP TABLE originals AS SELECT sha256 FROM builds`,
		`INSERT INTO builds SELECT ` + key("sha256") + `, replace(b.path, '.', '-' || c.i || '.'),
		   printf('%d.%d.%d.%d', 3 + c.i / 500 % 4, c.i / 50 % 10, c.i % 50, 100 + c.i % 900), -1, b.kind, b.verdict, b.confidence,
		   b.status, b.status_reason, b.type, b.size, b.nodes, b.pes, b.matches, b.issues, b.endpoints, b.keyword_lists, b.keywords,
		   b.signer, b.tool_version, b.rules_digest, b.schema_version, b.cache_key
		 FROM builds b JOIN originals o ON o.sha256 = b.sha256, copies c`,
		`INSERT INTO endpoints SELECT ` + key("build") + `, b.node, b.value, b.host, b.class, b.country, b.encoding, b.source
		 FROM endpoints b JOIN originals o ON o.sha256 = b.build, copies c`,
		`INSERT INTO build_lists SELECT ` + key("build") + `, b.list, b.family, date('2006-01-21', '+' || c.i || ' days'), b.node, b.sha256, b.count, b.keywords
		 FROM build_lists b JOIN originals o ON o.sha256 = b.build, copies c`, // the copies share the originals' list_keywords rows
		`INSERT INTO build_meta SELECT ` + key("sha256") + `, CASE WHEN b.pe_date = '' THEN '' ELSE date('2006-01-01', '+' || c.i || ' days') END,
		   CASE WHEN b.snapshot_date = '' THEN '' ELSE date('2006-01-21', '+' || c.i || ' days') END, b.product
		 FROM build_meta b JOIN originals o ON o.sha256 = b.sha256, copies c`,
	} {
		var args []any
		if strings.Contains(q, "RECURSIVE") {
			args = []any{copies}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return 0, fmt.Errorf("clone builds: %w\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	var total int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM builds`).Scan(&total)
	return total, err
}

// SetFlushTogetherBelow sets the index size below which Flush renders the
// page while it makes the canonical copy; the returned function restores it.
func SetFlushTogetherBelow(n int64) (restore func()) {
	old := flushTogetherBelow
	flushTogetherBelow = n
	return func() { flushTogetherBelow = old }
}

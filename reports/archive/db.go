package archive

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // pure-Go SQLite: no cgo beyond go-yara's

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/timeline"
)

// BuildRow is one build as the index shows it.
type BuildRow struct {
	Key          string
	Path         string
	Version      string
	Kind         string // the TOM verdict, "" without one
	Confidence   float64
	Status       string
	Type         string
	Size         int64
	Nodes        int
	PEs          int
	Matches      int
	Issues       int
	Endpoints    int
	Hosts        []string
	KeywordLists int
	Keywords     int
	Signer       string // the root's or first signer in tree order
	view         *reports.View
}

// Summaries derives one row per entry, ordered by version then key: the
// order of the index table and of the timeline.
func Summaries(entries []Entry) []BuildRow {
	rows := make([]BuildRow, 0, len(entries))
	for _, e := range entries {
		v := reports.NewView(e.Report)
		row := BuildRow{Key: e.Key, Path: v.Path, Version: v.Version, Kind: v.Verdict, Confidence: v.Confidence,
			Status: v.Status, Type: v.Type, Size: v.Size, Nodes: v.Summary.Nodes, PEs: v.Summary.PEs,
			Matches: v.Summary.Matches, Issues: v.Summary.Issues, Endpoints: len(v.Endpoints),
			KeywordLists: len(v.KeywordLists), Keywords: v.KeywordCount(), view: v}
		seen := map[string]bool{}
		for _, ep := range v.Endpoints {
			if !seen[ep.Host] {
				seen[ep.Host] = true
				row.Hosts = append(row.Hosts, ep.Host)
			}
		}
		if len(v.Signers) > 0 {
			row.Signer = v.Signers[0].Signer
		}
		rows = append(rows, row)
	}
	timeline.SortByVersion(rows, func(r BuildRow) string { return r.Version }, func(r BuildRow) string { return r.Key })
	return rows
}

const schemaSQL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE builds (
  sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, version TEXT NOT NULL,
  version_rank INTEGER NOT NULL, -- position by version (numeric dotted order): ORDER BY it
  kind TEXT NOT NULL,
  confidence REAL NOT NULL, status TEXT NOT NULL, status_reason TEXT NOT NULL, type TEXT NOT NULL,
  size INTEGER NOT NULL, nodes INTEGER NOT NULL, pes INTEGER NOT NULL, matches INTEGER NOT NULL,
  issues INTEGER NOT NULL, endpoints INTEGER NOT NULL, keyword_lists INTEGER NOT NULL,
  keywords INTEGER NOT NULL, signer TEXT NOT NULL, tool_version TEXT NOT NULL,
  rules_digest TEXT NOT NULL, schema_version TEXT NOT NULL);
CREATE TABLE nodes (
  build TEXT NOT NULL REFERENCES builds(sha256), id TEXT NOT NULL, name TEXT NOT NULL,
  depth INTEGER NOT NULL, type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
  extractor TEXT NOT NULL, duplicate_of TEXT NOT NULL, file_version TEXT NOT NULL,
  matches INTEGER NOT NULL, findings INTEGER NOT NULL, issues INTEGER NOT NULL,
  PRIMARY KEY (build, id));
CREATE TABLE matches (
  build TEXT NOT NULL REFERENCES builds(sha256), node TEXT NOT NULL,
  namespace TEXT NOT NULL, rule TEXT NOT NULL);
CREATE TABLE endpoints (
  build TEXT NOT NULL REFERENCES builds(sha256), node TEXT NOT NULL, value TEXT NOT NULL,
  host TEXT NOT NULL, class TEXT NOT NULL, country TEXT NOT NULL, encoding TEXT NOT NULL,
  source TEXT NOT NULL);
CREATE TABLE keywords (
  build TEXT NOT NULL REFERENCES builds(sha256), list TEXT NOT NULL, family TEXT NOT NULL,
  snapshot TEXT NOT NULL, node TEXT NOT NULL, position INTEGER NOT NULL, keyword TEXT NOT NULL);
CREATE INDEX matches_rule ON matches(rule);
CREATE INDEX endpoints_host ON endpoints(host);
CREATE INDEX keywords_keyword ON keywords(keyword);
`

// writeDB builds the index in a temp file next to path and renames it into
// place, so a reader never opens half an index. Rows go in in a fixed order
// (builds by version, then tree order), so the same reports give the same file.
func writeDB(ctx context.Context, path string, entries []Entry, rows []BuildRow) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return fmt.Errorf("archive: index temp file: %w", err)
	}
	tmp := f.Name()
	f.Close()            // SQLite takes an empty file for a new database
	defer os.Remove(tmp) // no-op after the rename
	db, err := sql.Open("sqlite", tmp)
	if err != nil {
		return fmt.Errorf("archive: open index: %w", err)
	}
	if err := fillDB(ctx, db, entries, rows); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("archive: close index: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("archive: rename index: %w", err)
	}
	return nil
}

func fillDB(ctx context.Context, db *sql.DB, entries []Entry, rows []BuildRow) error {
	db.SetMaxOpenConns(1)
	for _, p := range []string{"PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF"} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("archive: index %s: %w", p, err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("archive: index begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schemaSQL); err != nil {
		return fmt.Errorf("archive: index schema: %w", err)
	}
	byKey := map[string]*reports.Report{}
	for _, e := range entries {
		byKey[e.Key] = e.Report
	}
	ins := func(q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("archive: index insert %s: %w", strings.Fields(q)[2], err)
		}
		return nil
	}
	if err := ins(`INSERT INTO meta VALUES (?, ?)`, "schema_version", reports.SchemaVersion); err != nil {
		return err
	}
	for rank, row := range rows {
		r, v := byKey[row.Key], row.view
		if err := ins(`INSERT INTO builds VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			row.Key, row.Path, row.Version, rank, row.Kind, row.Confidence, row.Status, r.StatusReason, row.Type,
			row.Size, row.Nodes, row.PEs, row.Matches, row.Issues, row.Endpoints, row.KeywordLists,
			row.Keywords, row.Signer, r.Tool.Version, r.Rules.Digest, r.SchemaVersion); err != nil {
			return err
		}
		if r.Tree != nil {
			err := r.Tree.Walk(func(n *artifact.Node) error {
				fv := ""
				if n.PE != nil && n.PE.Version != nil {
					fv = n.PE.Version.FileVersion
				}
				if err := ins(`INSERT INTO nodes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`, row.Key, n.ID, n.Name, n.Depth,
					n.Type, n.Size, n.SHA256, n.Extractor, n.DuplicateOf, fv, len(n.Matches), len(n.Findings), len(n.Issues)); err != nil {
					return err
				}
				for _, m := range n.Matches {
					if err := ins(`INSERT INTO matches VALUES (?,?,?,?)`, row.Key, n.ID, m.Namespace, m.Rule); err != nil {
						return err
					}
				}
				return ctx.Err()
			})
			if err != nil {
				return err
			}
		}
		for _, ep := range v.Endpoints {
			if err := ins(`INSERT INTO endpoints VALUES (?,?,?,?,?,?,?,?)`, row.Key, ep.Node, ep.Value, ep.Host,
				ep.Class, ep.Country, ep.Encoding, ep.Source); err != nil {
				return err
			}
		}
		for _, kl := range v.KeywordLists {
			for i, k := range kl.Keywords {
				if err := ins(`INSERT INTO keywords VALUES (?,?,?,?,?,?,?)`, row.Key, kl.Name, kl.Family, kl.Snapshot, kl.Node, i, k); err != nil {
					return err
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("archive: index commit: %w", err)
	}
	return nil
}

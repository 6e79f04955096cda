package archive

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"modernc.org/sqlite" // pure-Go SQLite: no cgo beyond go-yara's

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/timeline"
)

// versionCollation orders dotted versions the way the timeline does
// (timeline.CompareVersions: "5.10" after "5.9"), so that SQLite itself can
// rank builds by version without tomscan holding every version in memory.
const versionCollation = "tomversion"

func init() {
	if err := sqlite.RegisterCollationUtf8(versionCollation, timeline.CompareVersions); err != nil {
		panic(fmt.Sprintf("archive: register collation: %v", err))
	}
}

// indexVersion names the layout of index.sqlite. An index with another (an
// older tomscan's, or none: a damaged file) is rebuilt from the reports when
// it is opened.
const indexVersion = "4" // 3: builds.cache_key; build_meta, build_lists and page_links for the pages; 4: list_keywords (each distinct list once), keywords a view

const schemaSQL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE builds (
  sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, version TEXT NOT NULL,
  version_rank INTEGER NOT NULL, -- position by version (numeric dotted order): ORDER BY it
  kind TEXT NOT NULL,    -- the TOM verdict, "" without one (kept for older queries)
  verdict TEXT NOT NULL, -- the same: the TOM verdict, "" without one
  confidence REAL NOT NULL, status TEXT NOT NULL, status_reason TEXT NOT NULL, type TEXT NOT NULL,
  size INTEGER NOT NULL, nodes INTEGER NOT NULL, pes INTEGER NOT NULL, matches INTEGER NOT NULL,
  issues INTEGER NOT NULL, endpoints INTEGER NOT NULL, keyword_lists INTEGER NOT NULL,
  keywords INTEGER NOT NULL, signer TEXT NOT NULL, tool_version TEXT NOT NULL,
  rules_digest TEXT NOT NULL, schema_version TEXT NOT NULL,
  cache_key TEXT NOT NULL); -- the report's cache.key, "" without: a scan reuses a build by it
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
CREATE TABLE build_meta (
  sha256 TEXT PRIMARY KEY REFERENCES builds(sha256),
  pe_date TEXT NOT NULL,       -- the product executable's link time, YYYY-MM-DD, or ""
  snapshot_date TEXT NOT NULL, -- the closest keyword-list snapshot's date, or ""
  product TEXT NOT NULL);
CREATE TABLE build_lists (
  build TEXT NOT NULL REFERENCES builds(sha256), list TEXT NOT NULL, family TEXT NOT NULL,
  snapshot TEXT NOT NULL, node TEXT NOT NULL, sha256 TEXT NOT NULL, count INTEGER NOT NULL,
  keywords TEXT NOT NULL); -- the list's keywords in list_keywords, by keywordsDigest
-- Each distinct keyword sequence once: builds of one period carry the same
-- lists, and a list holds thousands of entries (a copy per build made the
-- index ~90% keywords, ~90 kB a build).
CREATE TABLE list_keywords (
  digest TEXT NOT NULL, position INTEGER NOT NULL, keyword TEXT NOT NULL,
  PRIMARY KEY (digest, position)) WITHOUT ROWID;
-- keywords keeps the one-row-per-keyword-per-build table of layouts 1 to 3
-- for queries (README "Archive index").
CREATE VIEW keywords (build, list, family, snapshot, node, position, keyword) AS
  SELECT bl.build, bl.list, bl.family, bl.snapshot, bl.node, lk.position, lk.keyword
  FROM build_lists bl JOIN list_keywords lk ON lk.digest = bl.keywords;
` + pageLinksSQL + `;
`

// indexSQL is the index's secondary indexes. Canonicalize creates them once
// the rows are copied: built from the sorted rows at once, not entry by
// entry as each row goes in (BenchmarkCanonicalize, a 29 MB index: 350 ms
// → 237 ms).
const indexSQL = secondaryIndexSQL + listKeywordsIndexSQL

// secondaryIndexSQL is indexSQL but list_keywords' index, which the
// canonical copy makes before the rows go in (copyCanonical).
const secondaryIndexSQL = `
CREATE INDEX matches_build ON matches(build);
CREATE INDEX matches_rule ON matches(rule);
CREATE INDEX endpoints_build ON endpoints(build);
CREATE INDEX endpoints_host ON endpoints(host);
CREATE INDEX build_lists_build ON build_lists(build);
CREATE INDEX build_lists_keywords ON build_lists(keywords);
`

// listKeywordsIndexSQL is list_keywords' index.
const listKeywordsIndexSQL = `CREATE INDEX list_keywords_keyword ON list_keywords(keyword);`

// buildTables are the tables holding one build's rows, by their build column.
var buildTables = []struct{ name, col string }{
	{"endpoints", "build"}, {"matches", "build"}, {"nodes", "build"}, {"builds", "sha256"},
	{"page_links", "sha256"}, // the page was rewritten without neighbours: the next Flush adds them
	{"build_meta", "sha256"}, {"build_lists", "build"},
}

// createSchema lays out an empty index.
func createSchema(ctx context.Context, db *sql.DB) error {
	return createTables(ctx, db, schemaSQL+indexSQL)
}

// createTables makes a fresh index's schema from schema (schemaSQL, with or
// without indexSQL) and its meta rows, in one transaction.
func createTables(ctx context.Context, db *sql.DB, schema string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("archive: index begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("archive: index schema: %w", err)
	}
	for _, kv := range [][2]string{{"index_version", indexVersion}, {"schema_version", reports.SchemaVersion}} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta VALUES (?, ?)`, kv[0], kv[1]); err != nil {
			return fmt.Errorf("archive: index meta: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("archive: index commit: %w", err)
	}
	return nil
}

// Keyed is one build to upsert: its key (folder name) and report, or the
// rows RowsOf made of the report (in the worker that scanned the build).
type Keyed struct {
	Key    string
	Report *reports.Report
	Rows   *Rows // used when Report is nil
	// NoPage: the write that goes with these rows made no report.html
	// (and left none: RemoveStalePages). The build's page_links row, the
	// neighbours the last Flush recorded for it, then stays: a page
	// rewritten without neighbours needs it deleted for the next Flush to
	// add them, a build without a page does not, and Flush's relink
	// updates the row only if its neighbours changed (a JSON-only
	// rules-only rescan: 61 rows deleted and inserted again, 3-9 ms of
	// its Flush, otherwise).
	NoPage bool
	// PageRemoved: that write removed the build's report.html, which the
	// pages of its family's previous and next builds link: their
	// page_links rows are deleted, so that the next Flush relinks them.
	PageRemoved bool
}

// upsertMany replaces the rows of every build in one transaction.
func upsertMany(ctx context.Context, db *sql.DB, cache *stmtCache, builds []Keyed) error {
	w := &batchWriter{db: db, cache: cache, size: len(builds) + 1}
	defer w.rollback()
	var removed []string
	for _, b := range builds {
		if b.PageRemoved {
			removed = append(removed, b.Key)
		}
		rows := b.Rows
		if b.Report != nil {
			var err error
			if rows, err = RowsOf(ctx, b.Key, b.Report); err != nil {
				return err
			}
		} else if err := rows.check(b.Key); err != nil {
			return err // made by a worker: checked, not trusted
		}
		if err := w.addRows(ctx, b.Key, rows, b.NoPage); err != nil {
			return err
		}
	}
	if len(removed) > 0 && w.st != nil {
		// one pass over page_links for the whole batch
		keys, err := json.Marshal(removed)
		if err != nil {
			return err
		}
		if err := w.st.exec(ctx, `DELETE FROM page_links WHERE prev IN (SELECT value FROM json_each(?1)) OR next IN (SELECT value FROM json_each(?1))`, string(keys)); err != nil {
			return fmt.Errorf("archive: index page links of removed pages: %w", err)
		}
	}
	return w.commit(ctx)
}

// batchWriter replaces builds' rows, committing every size builds: the rows
// of one build are always in one transaction, and only the build being
// written is held in memory (a rebuild goes through thousands).
type batchWriter struct {
	db       *sql.DB
	cache    *stmtCache // statements kept across transactions; nil: prepared in each
	size     int
	st       *stmts // nil between transactions
	n        int
	replaced []string // keyword digests the replaced rows named, in this transaction
}

// add replaces build key's rows with r's.
func (w *batchWriter) add(ctx context.Context, key string, r *reports.Report) error {
	rows, err := RowsOf(ctx, key, r)
	if err != nil {
		return err
	}
	return w.addRows(ctx, key, rows, false)
}

// addRows replaces build key's rows with rows, all of them key's (RowsOf
// made them, or check passed them), but its page_links row when noPage
// (Keyed.NoPage).
func (w *batchWriter) addRows(ctx context.Context, key string, rows *Rows, noPage bool) error {
	if w.st == nil {
		tx, err := w.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("archive: index begin: %w", err)
		}
		w.st, w.n, w.replaced = &stmts{tx: tx, cache: w.cache, byQuery: map[string]*sql.Stmt{}}, 0, w.replaced[:0]
	}
	ds, err := listDigests(ctx, w.st, key)
	if err != nil {
		return err
	}
	w.replaced = append(w.replaced, ds...)
	for _, t := range buildTables {
		if noPage && t.name == "page_links" {
			continue
		}
		if err := w.st.replace(ctx, t.name, t.col, key, rows.Tables[t.name]); err != nil {
			return err
		}
	}
	if err := w.st.addLists(ctx, key, rows.Lists); err != nil {
		return err
	}
	if w.n++; w.n >= w.size {
		return w.commit(ctx)
	}
	return nil
}

// commit ends the open transaction, if any, after deleting the keyword
// rows no build names any more.
func (w *batchWriter) commit(ctx context.Context) error {
	if w.st == nil {
		return nil
	}
	st := w.st
	w.st = nil
	defer st.close()
	if err := dropOrphanLists(ctx, st, w.replaced); err != nil {
		st.tx.Rollback()
		return err
	}
	if err := st.tx.Commit(); err != nil {
		return fmt.Errorf("archive: index commit: %w", err)
	}
	w.cache.fill(ctx)
	return nil
}

// rollback abandons the open transaction, if any (after an error).
func (w *batchWriter) rollback() {
	if w.st != nil {
		w.st.close()
		w.st.tx.Rollback()
		w.st = nil
	}
}

// addLists inserts the entries of each keyword list (by digest) that
// list_keywords does not hold yet: another build's list with the same
// entries in the same order shares its rows.
func (s *stmts) addLists(ctx context.Context, key string, lists map[string][]string) error {
	digests := make([]string, 0, len(lists))
	for d := range lists {
		digests = append(digests, d)
	}
	sort.Strings(digests) // map order must not reach the file
	for _, d := range digests {
		st, err := s.prepare(ctx, `SELECT EXISTS (SELECT 1 FROM list_keywords WHERE digest = ?)`)
		if err != nil {
			return fmt.Errorf("archive: index list_keywords %s: %w", key, err)
		}
		var have bool
		if err := st.QueryRowContext(ctx, d).Scan(&have); err != nil {
			return fmt.Errorf("archive: index list_keywords %s: %w", key, err)
		}
		if have {
			continue
		}
		entries := lists[d]
		rows := make([][]any, len(entries))
		for i, k := range entries {
			rows[i] = []any{d, i, k}
		}
		if err := s.insertRows(ctx, "list_keywords", rows); err != nil {
			return fmt.Errorf("archive: index insert list_keywords %s: %w", key, err)
		}
	}
	return nil
}

// stmts are a transaction's statements, each prepared once: a build has
// hundreds of rows (nodes, and a new keyword list's entries), and preparing
// the same INSERT for each was most of an upsert's time.
type stmts struct {
	tx      *sql.Tx
	cache   *stmtCache // nil: statements are prepared in the transaction
	byQuery map[string]*sql.Stmt
}

// prepare returns q's statement: the cache's when it has q, which SQLite
// then does not parse again, else one prepared in the transaction (and q
// noted for the cache to prepare once the connection is free: the index
// has one, which the transaction holds).
func (s *stmts) prepare(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.byQuery[q]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if base := s.cache.get(q); base != nil {
		st = s.tx.StmtContext(ctx, base)
	} else {
		var err error
		if st, err = s.tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		s.cache.want(q)
	}
	s.byQuery[q] = st
	return st, nil
}

// stmtCache keeps an index's statements prepared on its one connection
// from transaction to transaction: a scan commits a batch every few builds,
// and preparing a dozen statements again for each (SQLite parses every
// one) was an eighth of the parent's CPU on a scan of small builds. A nil
// cache keeps none.
type stmtCache struct {
	db      *sql.DB
	byQuery map[string]*sql.Stmt
	wanted  []string // used in a transaction, to prepare after it
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, byQuery: map[string]*sql.Stmt{}}
}

func (c *stmtCache) get(q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	return c.byQuery[q]
}

func (c *stmtCache) want(q string) {
	if c != nil {
		c.wanted = append(c.wanted, q)
	}
}

// fill prepares the statements wanted, with the connection free (between
// transactions). One that fails is simply prepared in each transaction.
func (c *stmtCache) fill(ctx context.Context) {
	if c == nil {
		return
	}
	for _, q := range c.wanted {
		if _, ok := c.byQuery[q]; ok {
			continue
		}
		if st, err := c.db.PrepareContext(ctx, q); err == nil {
			c.byQuery[q] = st
		}
	}
	c.wanted = c.wanted[:0]
}

// close releases the statements; nil is a cache of none.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	for _, st := range c.byQuery {
		st.Close()
	}
	c.byQuery = map[string]*sql.Stmt{}
}

func (s *stmts) exec(ctx context.Context, q string, args ...any) error {
	st, err := s.prepare(ctx, q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// Rows are one build's index rows, by table (each table's in insertion
// order, tree order for nodes), and the entries of its keyword lists by
// keywordsDigest. A worker makes them (RowsOf) beside the report, so the
// parent upserts a build without decoding its report; they travel as gob
// (values keep their Go types: string, int, int64, float64).
type Rows struct {
	Tables map[string][][]any
	Lists  map[string][]string
}

// inserts are the statements that insert rows of each table RowsOf fills
// (and list_keywords), by the row's width: the parent executes these, never
// SQL text from a worker. OR FAIL, not the default ABORT: to undo its own
// earlier rows on a constraint error, an INSERT of several rows under ABORT
// keeps a statement journal (a temp file written page by page, a quarter of
// the upserts' time); under FAIL they stay in the transaction, which an
// upsert rolls back whole on any error (batchWriter.rollback).
var inserts = map[string]insertStmt{
	"builds":        {`INSERT OR FAIL INTO builds`, 23},
	"nodes":         {`INSERT OR REPLACE INTO nodes`, 13},
	"matches":       {`INSERT OR FAIL INTO matches`, 4},
	"endpoints":     {`INSERT OR FAIL INTO endpoints`, 8},
	"build_meta":    {`INSERT OR FAIL INTO build_meta`, 4},
	"build_lists":   {`INSERT OR FAIL INTO build_lists`, 8},
	"list_keywords": {`INSERT OR FAIL INTO list_keywords`, 3},
}

type insertStmt struct {
	head  string // up to VALUES
	width int    // columns of a row
}

// rowsPerInsert is the most rows one INSERT carries. A build's rows went in
// one statement each, through database/sql row by row (a new keyword list
// has thousands of entries); in statements of up to 64 rows a first scan's
// upserts take a quarter less time (BenchmarkUpsertBatchFirst: 108 ms to
// 83 ms). Several rows in one VALUES list are inserted in the same order as
// one by one: the same rows, with the same rowids. 64 rows of the widest
// table are 1,472 parameters (SQLite allows 32,766).
const rowsPerInsert = 64

// insertRows inserts rows into table: whole statements of rowsPerInsert
// rows, then the rest in statements of 32, 16, ... 1 rows, so that a table
// has at most seven statements to prepare and keep. Every row must have the
// table's width: in one VALUES list a short row would take its neighbour's
// values (one by one, SQLite refused it).
func (s *stmts) insertRows(ctx context.Context, table string, rows [][]any) error {
	if len(rows) == 0 {
		return nil // page_links: deleted here, added by the next Flush
	}
	ins, ok := inserts[table]
	if !ok {
		return fmt.Errorf("unknown table %q", table)
	}
	for _, r := range rows {
		if len(r) != ins.width {
			return fmt.Errorf("a %s row of %d values, not %d", table, len(r), ins.width)
		}
	}
	args := make([]any, 0, min(len(rows), rowsPerInsert)*ins.width)
	for n := rowsPerInsert; len(rows) > 0; n /= 2 {
		for len(rows) >= n {
			args = args[:0]
			for _, r := range rows[:n] {
				args = append(args, r...)
			}
			if err := s.exec(ctx, ins.sql(n), args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
	}
	return nil
}

// sql is the statement inserting n rows.
func (ins insertStmt) sql(n int) string {
	one := "(" + strings.Repeat("?,", ins.width-1) + "?)"
	return ins.head + " VALUES " + strings.Repeat(one+",", n-1) + one
}

func (r *Rows) add(table string, args ...any) {
	r.Tables[table] = append(r.Tables[table], args)
}

// check says whether rows can be build key's: known tables only, every
// row's first column (each table's build column) key, only the value types
// RowsOf makes, and each keyword list under the digest of its entries
// (list_keywords rows are shared by every build with the same list: one
// filed under another list's digest would show in those builds).
func (r *Rows) check(key string) error {
	if r == nil {
		return fmt.Errorf("archive: index rows of %s: none", key)
	}
	for d, keywords := range r.Lists {
		if keywordsDigest(keywords) != d {
			return fmt.Errorf("archive: index rows of %s: a keyword list under another list's digest %q", key, d)
		}
	}
	for _, row := range r.Tables["build_lists"] {
		// the last column names the list's entries: they must come
		// with the rows, not be another build's
		if len(row) != 8 {
			return fmt.Errorf("archive: index rows of %s: a build_lists row of %d columns", key, len(row))
		}
		d, ok := row[7].(string)
		if _, given := r.Lists[d]; !ok || !given && d != keywordsDigest(nil) {
			return fmt.Errorf("archive: index rows of %s: a keyword list whose entries are not given", key)
		}
	}
	for table, rows := range r.Tables {
		ins, ok := inserts[table]
		if !ok || table == "list_keywords" {
			return fmt.Errorf("archive: index rows of %s: unknown table %q", key, table)
		}
		for _, row := range rows {
			if len(row) != ins.width {
				return fmt.Errorf("archive: index rows of %s: a %s row of %d columns", key, table, len(row))
			}
			if row[0] != any(key) {
				return fmt.Errorf("archive: index rows of %s: a %s row of another build", key, table)
			}
			for _, v := range row {
				switch v.(type) {
				case string, int, int64, float64:
				default:
					return fmt.Errorf("archive: index rows of %s: a %s value of type %T", key, table, v)
				}
			}
		}
	}
	return nil
}

// replace makes build key's rows of table (whose build column is col)
// those of want (nil: none). Rows already there and equal, value for value
// and in the same order, are left alone: a rescan with other rules changes
// a build's matches and often nothing else, and deleting and inserting its
// other rows again was most of its upserts. Kept rows keep their
// rowids, in the same order as rows inserted afresh would have them, and
// Canonicalize copies rows by value: the index bytes after Flush are the
// same either way.
func (s *stmts) replace(ctx context.Context, table, col, key string, rows [][]any) error {
	same, err := s.sameRows(ctx, table, col, key, rows)
	if err != nil {
		return fmt.Errorf("archive: index read %s %s: %w", table, key, err)
	}
	if same {
		return nil
	}
	if err := s.exec(ctx, `DELETE FROM `+table+` WHERE `+col+` = ?`, key); err != nil {
		return fmt.Errorf("archive: index delete %s %s: %w", table, key, err)
	}
	if err := s.insertRows(ctx, table, rows); err != nil {
		return fmt.Errorf("archive: index insert %s %s: %w", table, key, err)
	}
	return nil
}

// sameRows tells whether build key's rows in table are want, in rowid
// order, each value of the same type and equal (a value of another type,
// or one compared with doubt, counts as different: then the rows are
// written again, as they always were).
func (s *stmts) sameRows(ctx context.Context, table, col, key string, want [][]any) (bool, error) {
	st, err := s.prepare(ctx, `SELECT * FROM `+table+` WHERE `+col+` = ? ORDER BY rowid`)
	if err != nil {
		return false, err
	}
	rs, err := st.QueryContext(ctx, key)
	if err != nil {
		return false, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return false, err
	}
	got := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range got {
		ptrs[i] = &got[i]
	}
	n := 0
	for rs.Next() {
		if n >= len(want) || len(want[n]) != len(cols) {
			return false, nil
		}
		if err := rs.Scan(ptrs...); err != nil {
			return false, err
		}
		for i, v := range want[n] {
			if !sameValue(got[i], v) {
				return false, nil
			}
		}
		n++
	}
	if err := rs.Err(); err != nil {
		return false, err
	}
	return n == len(want), nil
}

// sameValue compares a value read from the index with one about to be
// inserted, as the driver would store it (database/sql converts by kind:
// a named string type as a string, any int as int64).
func sameValue(stored, v any) bool {
	x := reflect.ValueOf(v)
	switch x.Kind() {
	case reflect.String:
		y, ok := stored.(string)
		return ok && x.String() == y
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		y, ok := stored.(int64)
		return ok && x.Int() == y
	case reflect.Float64:
		y, ok := stored.(float64)
		return ok && x.Float() == y // NaN never equal: written again
	}
	return false
}

func (s *stmts) close() {
	for _, st := range s.byQuery {
		st.Close()
	}
}

// RowsOf collects one report's index rows by table, in tree order.
// version_rank is set by rank once the batch of upserts is done.
func RowsOf(ctx context.Context, key string, r *reports.Report) (*Rows, error) {
	return rowsOfView(ctx, key, r, reports.NewView(r))
}

// rowsOfView is RowsOf from r's view; v is not changed.
func rowsOfView(ctx context.Context, key string, r *reports.Report, v *reports.View) (*Rows, error) {
	rows := &Rows{Tables: map[string][][]any{}, Lists: map[string][]string{}}
	signer := ""
	if len(v.Signers) > 0 {
		signer = v.Signers[0].Signer
	}
	cacheKey := ""
	if r.Cache != nil {
		cacheKey = r.Cache.Key
	}
	rows.add("builds",
		key, v.Path, v.Version, -1, v.Verdict, v.Verdict, v.Confidence, v.Status, r.StatusReason, v.Type,
		v.Size, v.Summary.Nodes, v.Summary.PEs, v.Summary.Matches, v.Summary.Issues, len(v.Endpoints), len(v.KeywordLists),
		v.KeywordCount(), signer, r.Tool.Version, r.Rules.Digest, r.SchemaVersion, cacheKey)
	if r.Tree != nil {
		err := r.Tree.Walk(func(n *artifact.Node) error {
			fv := ""
			if n.PE != nil && n.PE.Version != nil {
				fv = n.PE.Version.FileVersion
			}
			// OR REPLACE: a hand-edited report may repeat a node id; the
			// last one wins, as it would in any reader keyed by id.
			rows.add("nodes", key, n.ID, n.Name, n.Depth,
				n.Type, n.Size, n.SHA256, n.Extractor, n.DuplicateOf, fv, len(n.Matches), len(n.Findings), len(n.Issues))
			for _, m := range n.Matches {
				rows.add("matches", key, n.ID, m.Namespace, m.Rule)
			}
			return ctx.Err()
		})
		if err != nil {
			return nil, err
		}
	}
	for _, ep := range v.Endpoints {
		rows.add("endpoints", key, ep.Node, ep.Value, ep.Host, ep.Class, ep.Country, ep.Encoding, ep.Source)
	}
	rows.add("build_meta", key, v.PEDate, v.SnapshotDate, v.ID.Product)
	for _, kl := range v.KeywordLists {
		digest := keywordsDigest(kl.Keywords)
		rows.add("build_lists", key, kl.Name, kl.Family, kl.Snapshot, kl.Node, kl.SHA256, kl.Count, digest)
		// a copy: the caller may render the view's page next, which
		// makes its strings safe for a terminal in place; the index keeps
		// the keywords as recovered
		rows.Lists[digest] = slices.Clone(kl.Keywords)
	}
	return rows, nil
}

// keywordsDigest names a keyword sequence in list_keywords: the sha256 of
// its entries, each preceded by its length (so no two sequences share it).
// It is not the list's own sha256 (of the decrypted bytes, and empty where
// none was recovered): two lists with the same entries share their rows.
func keywordsDigest(keywords []string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, k := range keywords {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(k)))])
		h.Write([]byte(k))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// dropOrphanLists deletes the list_keywords rows of digests no build_lists
// row names any more (the lists of builds just replaced or removed), so the
// index holds the same rows whatever builds came and went before.
func dropOrphanLists(ctx context.Context, s *stmts, digests []string) error {
	// A list many builds of a batch share is looked at once.
	slices.Sort(digests)
	for _, d := range slices.Compact(digests) {
		if err := s.exec(ctx, `DELETE FROM list_keywords WHERE digest = ?
  AND NOT EXISTS (SELECT 1 FROM build_lists WHERE keywords = ?)`, d, d); err != nil {
			return fmt.Errorf("archive: index list_keywords %s: %w", d, err)
		}
	}
	return nil
}

// listDigests are the keyword digests a build's rows name now.
func listDigests(ctx context.Context, s *stmts, key string) ([]string, error) {
	st, err := s.prepare(ctx, `SELECT DISTINCT keywords FROM build_lists WHERE build = ?`)
	if err != nil {
		return nil, fmt.Errorf("archive: index lists of %s: %w", key, err)
	}
	rows, err := st.QueryContext(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("archive: index lists of %s: %w", key, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("archive: index lists of %s: %w", key, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// wholeIndexCacheKiB is the page cache (KiB) of the connection while it
// works on every build at once: the ranking, relink's neighbours and the
// index page. SQLite also sizes its sorter's memory by the page cache (never
// under 250 pages, 1 MB, before it spills to a temp file), and each of those
// statements sorts every build once or twice: with the default 2,000 KiB,
// a one-build scan into 10,000 archived builds peaked 5-6 MB higher
// (48-49 MB against 43-44; 40-41 MB at 100 builds, whose index fits either
// cache), and was no faster, since the file's pages stay in the OS's cache.
const wholeIndexCacheKiB = 1000

// boundCache sets db's page cache to wholeIndexCacheKiB, before the
// statements that read every build. db has one connection (openRW): the
// setting holds until it closes.
func boundCache(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = -%d`, wholeIndexCacheKiB)); err != nil {
		return fmt.Errorf("archive: index cache size: %w", err)
	}
	return nil
}

// rank sets every build's version_rank: its position by version, then by
// key. SQLite sorts (spilling to disk when large); only rows whose rank
// changed are written.
func rank(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `
UPDATE builds SET version_rank = r.rank
FROM (SELECT sha256, row_number() OVER (ORDER BY version COLLATE `+versionCollation+`, sha256) - 1 AS rank FROM builds) AS r
WHERE builds.sha256 = r.sha256 AND builds.version_rank != r.rank`)
	if err != nil {
		return fmt.Errorf("archive: index rank: %w", err)
	}
	return nil
}

// BuildRow is one build as the index page shows it.
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
}

// pageRow is a build's row with what else the index page shows of it:
// its dates (build_meta) and its keyword lists (build_lists, in the order
// its upsert inserted them).
type pageRow struct {
	BuildRow
	peDate, snapshotDate string
	lists                []listRef
}

// eachRow streams the builds in index order (version, then key) to fn: one
// row in memory at a time. Hosts are the build's distinct endpoint hosts in
// the report's order. Each build's dates and lists come with its row, by
// joins and a subquery, not from maps of every build kept beside the rows.
// The lists travel hex-encoded (fields by ',', lists by ';'), which gives
// back their exact bytes, as JSON would not for invalid UTF-8.
func eachRow(ctx context.Context, db querier, fn func(pageRow) error) error {
	rows, err := db.QueryContext(ctx, `
SELECT b.sha256, b.path, b.version, b.kind, b.confidence, b.status, b.type, b.size, b.nodes, b.pes,
  b.matches, b.issues, b.endpoints, b.keyword_lists, b.keywords, b.signer,
  (SELECT json_group_array(host ORDER BY first) FROM
     (SELECT host, min(rowid) AS first FROM endpoints WHERE build = b.sha256 GROUP BY host)),
  coalesce(m.pe_date, ''), coalesce(m.snapshot_date, ''),
  (SELECT group_concat(hex(l.list) || ',' || hex(l.family) || ',' || hex(l.sha256) || ',' || l.count, ';' ORDER BY l.rowid)
     FROM build_lists l WHERE l.build = b.sha256)
FROM builds b LEFT JOIN build_meta m ON m.sha256 = b.sha256
ORDER BY b.version_rank, b.sha256`)
	if err != nil {
		return fmt.Errorf("archive: index rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r pageRow
		var hosts, lists sql.NullString
		if err := rows.Scan(&r.Key, &r.Path, &r.Version, &r.Kind, &r.Confidence, &r.Status, &r.Type, &r.Size, &r.Nodes,
			&r.PEs, &r.Matches, &r.Issues, &r.Endpoints, &r.KeywordLists, &r.Keywords, &r.Signer, &hosts,
			&r.peDate, &r.snapshotDate, &lists); err != nil {
			return fmt.Errorf("archive: index row: %w", err)
		}
		r.Hosts = decodeHosts(hosts.String)
		if r.lists, err = decodeLists(lists.String); err != nil {
			return fmt.Errorf("archive: index row %s: lists: %w", r.Key, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("archive: index rows: %w", err)
	}
	return nil
}

// decodeLists reads eachRow's encoding of a build's lists.
func decodeLists(s string) ([]listRef, error) {
	if s == "" {
		return nil, nil
	}
	var ls []listRef
	for _, e := range strings.Split(s, ";") {
		f := strings.Split(e, ",")
		if len(f) != 4 {
			return nil, fmt.Errorf("%d fields in %q", len(f), e)
		}
		var l listRef
		var err error
		for i, dst := range []*string{&l.list, &l.family, &l.sha} {
			var b []byte
			if b, err = hex.DecodeString(f[i]); err != nil {
				return nil, err
			}
			*dst = string(b)
		}
		if l.count, err = strconv.Atoi(f[3]); err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

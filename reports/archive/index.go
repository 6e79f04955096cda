package archive

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/tomscan/tomscan/reports"
)

// Index is the archive's SQLite index, open for updates. A scan upserts
// each build as its report is written (one transaction per build), so the
// index never needs every report at once and a run that stops half-way
// leaves an index of what finished. Flush ranks the builds by version and
// writes index.html from the database, streaming.
type Index struct {
	out     string
	db      *sql.DB
	stmts   *stmtCache // upserts' statements on db, made on first use
	skipped []Skipped
	dirty   bool
	// flushed: at Open the index carried the canonical mark, so the run
	// that last changed it ended with Flush and every archived report is
	// the one its row describes (see Flushed).
	flushed bool
}

// Skipped is an archived report that could not be read: it is left out of
// the index (with a warning) instead of stopping the run.
type Skipped struct {
	Key string
	Err error
}

func (s Skipped) String() string { return fmt.Sprintf("%s: %v", s.Key, s.Err) }

// Open opens OUT/index.sqlite for updates, creating it when missing. An
// index that cannot be used (damaged, or written by a tomscan with another
// index layout) is rebuilt from the archived reports, one at a time;
// reports that cannot be read are skipped and listed by Skipped.
func Open(ctx context.Context, out string) (*Index, error) {
	path := filepath.Join(out, IndexDB)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		keys, kerr := Keys(out)
		if kerr != nil {
			return nil, kerr
		}
		if len(keys) > 0 {
			return reopenAfterRebuild(ctx, out)
		}
	}
	db, err := openRW(ctx, path)
	if err != nil {
		return reopenAfterRebuild(ctx, out) // not a database: the reports are the record
	}
	x := &Index{out: out, db: db}
	ok, err := x.usable(ctx)
	if err != nil || !ok {
		db.Close()
		return reopenAfterRebuild(ctx, out)
	}
	x.flushed = x.canonical(ctx)
	return x, nil
}

func reopenAfterRebuild(ctx context.Context, out string) (*Index, error) {
	skipped, err := rebuildIndex(ctx, out, nil, false)
	if err != nil {
		return nil, err
	}
	db, err := openRW(ctx, filepath.Join(out, IndexDB))
	if err != nil {
		return nil, err
	}
	// rebuilt from the reports themselves: each row is its report's
	return &Index{out: out, db: db, skipped: skipped, flushed: true}, nil
}

// usable tells whether the database holds this layout; an empty file (just
// created) gets the schema.
func (x *Index) usable(ctx context.Context) (bool, error) {
	var n int
	if err := x.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		return false, nil // not a database: rebuild
	}
	if n == 0 {
		return true, createSchema(ctx, x.db)
	}
	var v string
	if err := x.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'index_version'`).Scan(&v); err != nil || v != indexVersion {
		return false, nil
	}
	// The canonical copy takes list_keywords' index entries from this
	// one's as they are (copyCanonical): without it, the copy's bytes
	// would not be the canonical ones.
	var kw string
	if err := x.db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'list_keywords_keyword'`).Scan(&kw); err != nil || kw+";" != listKeywordsIndexSQL {
		return false, nil
	}
	return true, nil
}

// openRW opens a database file for writing, one connection (SQLite allows
// one writer), waiting on a lock held by another tomscan rather than failing.
func openRW(ctx context.Context, path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("archive: index path: %w", err)
	}
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?_pragma=busy_timeout(30000)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("archive: open index: %w", err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("archive: open index %s: %w", path, err)
	}
	return db, nil
}

// Flushed tells whether, when Open found it, the index was left by a run
// that ended with Flush (or was rebuilt from the reports). A scan writes a
// build's report files first and upserts its rows after (in batches): a run
// killed in between leaves reports newer than their rows, and the canonical
// mark cleared. After such a run, a build whose row has the wanted cache
// key may have a report made under another key, so a scan reads the
// report's own key before it reuses the build.
func (x *Index) Flushed() bool { return x.flushed }

// Skipped lists the reports a rebuild on Open could not read.
func (x *Index) Skipped() []Skipped { return x.skipped }

// Upsert replaces build key's rows with r's, in one transaction. The first
// of a run first clears the index's canonical mark (Canonicalize).
func (x *Index) Upsert(ctx context.Context, key string, r *reports.Report) error {
	return x.UpsertBatch(ctx, []Keyed{{Key: key, Report: r}})
}

// UpsertBatch replaces many builds' rows in one transaction: for a scan
// archiving the builds that finished while it wrote the last ones, and for
// imports of many reports at once, where a commit per build would
// dominate. The first of a run first clears the canonical mark, as Upsert.
func (x *Index) UpsertBatch(ctx context.Context, builds []Keyed) error {
	if err := x.WillChange(ctx); err != nil {
		return err
	}
	if x.stmts == nil {
		x.stmts = newStmtCache(x.db)
	}
	return upsertMany(ctx, x.db, x.stmts, builds)
}

// WillChange clears the canonical mark (once a run), committed, before the
// archive changes: a scan calls it before it writes its first report
// files, so that a run killed between writing a build's files and
// upserting its rows leaves an index without the mark (see Flushed).
func (x *Index) WillChange(ctx context.Context) error {
	if x.dirty {
		return nil
	}
	if _, err := x.db.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, metaCanonical); err != nil {
		return fmt.Errorf("archive: index meta: %w", err)
	}
	x.dirty = true
	return nil
}

// CacheKey returns the cache key and status build key was archived with
// ("" and "" when the index has no such build), by one index lookup.
func (x *Index) CacheKey(ctx context.Context, key string) (cacheKey, status string, err error) {
	err = x.db.QueryRowContext(ctx, `SELECT cache_key, status FROM builds WHERE sha256 = ?`, key).Scan(&cacheKey, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("archive: index lookup %s: %w", key, err)
	}
	return cacheKey, status, nil
}

// BuildWithRules returns the key of a build archived (not failed) with the
// rules digest and tool version given, "" when there is none: its report
// tells how many rules those sources compile to, without compiling them.
func (x *Index) BuildWithRules(ctx context.Context, rulesDigest, toolVersion string) (string, error) {
	var key string
	err := x.db.QueryRowContext(ctx, `SELECT sha256 FROM builds WHERE rules_digest = ? AND tool_version = ? AND status != ? ORDER BY sha256 LIMIT 1`,
		rulesDigest, toolVersion, reports.StatusFailed).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("archive: index lookup of rules %s: %w", rulesDigest, err)
	}
	return key, nil
}

// canonical tells whether the index carries Canonicalize's mark.
func (x *Index) canonical(ctx context.Context) bool {
	var v string
	return x.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaCanonical).Scan(&v) == nil && v == "1"
}

// Flush ranks the builds by version, rewrites index.html from the index
// (unless nothing changed since the last Flush) and, when builds were
// upserted, rewrites index.sqlite in canonical order
// (Canonicalize): the same reports give the same file whatever order the
// builds finished in.
func (x *Index) Flush(ctx context.Context) error {
	return x.flush(ctx, true)
}

// FlushClose is Flush then Close, for a run's last use of the index: the
// canonical copy Flush renames into place is not opened again (about 5 ms
// at the end of a scan). The index is closed whatever the outcome.
func (x *Index) FlushClose(ctx context.Context) error {
	err := x.flush(ctx, false)
	if cerr := x.Close(); err == nil {
		err = cerr
	}
	return err
}

// flush is Flush; reopen tells whether the index is opened again after
// the canonical copy replaced it.
func (x *Index) flush(ctx context.Context, reopen bool) error {
	if err := boundCache(ctx, x.db); err != nil {
		return err
	}
	if err := rank(ctx, x.db); err != nil {
		return err
	}
	// page_links rows changed by relinking make the index differ from its
	// canonical copy just as upserts do
	if n, err := relink(ctx, x.db, x.out, false); err != nil {
		return err
	} else if n > 0 {
		x.dirty = true
	}
	page := filepath.Join(x.out, IndexHTML)
	if !x.dirty && x.canonical(ctx) {
		// Nothing changed since the Flush (or rebuild) that set the
		// canonical mark, and each of those wrote index.html from these
		// rows before setting it: the page is up to date unless it was
		// removed. Rendering it again would be most of a rescan that
		// reuses every build.
		if _, err := os.Stat(page); err == nil {
			return nil
		}
		return writePage(ctx, x.db, page)
	}
	// index.html is rendered from these rows while the canonical copy is
	// made (both only read the index), and written before the copy is
	// renamed over the index: the mark never stands beside an older page.
	// Of a large index they are made one after the other: the memory each
	// takes grows with the archive (SQLite's caches and sorts, the rows
	// read), and side by side the two add up (peak RSS of a one-build scan
	// into 10,000 archived builds 53 MB against 37 MB into 100; 44 MB when
	// they take turns), while on a small index, where they take a few tens
	// of milliseconds, side by side saves a scan about half of that.
	x.stmts.close()
	x.stmts = nil
	written := make(chan error, 1)
	if x.large() {
		written <- writePage(ctx, x.db, page)
	} else {
		go func() { written <- writePage(ctx, x.db, page) }()
	}
	cerr := canonicalize(ctx, x.out, written)
	// The rename replaced the file under the open handle: close it, and
	// reopen the canonical file for whatever comes after.
	if err := x.db.Close(); err != nil && cerr == nil {
		cerr = fmt.Errorf("archive: close index: %w", err)
	}
	if reopen { // else x.db stays the closed handle: its calls fail, Close is a no-op
		db, err := openRW(ctx, filepath.Join(x.out, IndexDB))
		if err != nil {
			return err
		}
		x.db = db
	}
	if cerr != nil {
		return cerr
	}
	x.dirty = false
	return nil
}

// flushTogetherBelow is the index size below which Flush renders the
// page while it makes the canonical copy (see Flush): about 700 builds of
// the synthetic corpus (a one-build scan into 1,000 of them peaked at 46 MB
// with the two side by side, into 100 at 39 MB).
var flushTogetherBelow int64 = 4 << 20

// large tells whether the index file is flushTogetherBelow or more.
func (x *Index) large() bool {
	fi, err := os.Stat(filepath.Join(x.out, IndexDB))
	return err == nil && fi.Size() >= flushTogetherBelow
}

// Close closes the database. It does not Flush.
func (x *Index) Close() error {
	x.stmts.close()
	x.stmts = nil
	if err := x.db.Close(); err != nil { // a no-op once closed (FlushClose)
		return fmt.Errorf("archive: close index: %w", err)
	}
	return nil
}

// eachReport reads the archived reports one at a time, in key order, and
// hands each to fn. A report that cannot be read goes to skip instead: one
// damaged file never stops the rest.
func eachReport(ctx context.Context, out string, skip func(Skipped), fn func(key string, r *reports.Report) error) error {
	keys, err := Keys(out)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Reading and decoding a report is most of a rebuild's CPU (the JSON of
	// a TOM build is large): readAhead goroutines decode the next reports
	// while fn indexes this one. Results are handed over in key order, so
	// the index is the same as a one-by-one read; at most readAhead+1
	// reports are in memory at a time.
	readAhead := max(1, runtime.GOMAXPROCS(0))
	type decoded struct {
		r   *reports.Report
		err error
	}
	slots := make([]chan decoded, len(keys))
	for i := range slots {
		slots[i] = make(chan decoded, 1)
	}
	// The window is taken in key order, before a key is handed out: every
	// key handed out and not yet indexed holds a place in it, so the next
	// one the loop below waits for is always being read (a worker that
	// took a later key first cannot hold the place it needs).
	window := make(chan struct{}, readAhead)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range keys {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < readAhead; w++ {
		go func() {
			for i := range next {
				r, err := reports.ReadFile(filepath.Join(reports.BuildDir(out, keys[i]), ReportJSON))
				slots[i] <- decoded{r, err}
			}
		}()
	}
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		var d decoded
		select {
		case d = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-window
		if d.err != nil {
			skip(Skipped{Key: k, Err: d.err})
			continue
		}
		if err := fn(k, d.r); err != nil {
			return err
		}
	}
	return nil
}

// rebuildBatch is the number of builds a rebuild writes per transaction.
const rebuildBatch = 64

// rebuildIndex writes a fresh index.sqlite (in a temp file, renamed into
// place) and index.html from the archived reports, reading one report at a
// time; each is also handed to also, when given. Rows go in in key order,
// so the same reports give the same file.
func rebuildIndex(ctx context.Context, out string, also func(key string, r *reports.Report) error, forcePages bool) ([]Skipped, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	path := filepath.Join(out, IndexDB)
	f, err := os.CreateTemp(out, ".tmp-"+IndexDB+"-")
	if err != nil {
		return nil, fmt.Errorf("archive: index temp file: %w", err)
	}
	tmp := f.Name()
	f.Close()            // SQLite takes an empty file for a new database
	defer os.Remove(tmp) // no-op after the rename
	db, err := openRW(ctx, tmp)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := createSchema(ctx, db); err != nil {
		return nil, err
	}
	// The temp file becomes the index only by the rename below, once
	// complete, and Canonicalize then rewrites it: it needs no rollback
	// journal and no syncs of its own, and its rows go in by batches (one
	// transaction per rebuildBatch builds, not one per build).
	for _, p := range []string{`PRAGMA journal_mode = OFF`, `PRAGMA synchronous = OFF`} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return nil, fmt.Errorf("archive: rebuild: %s: %w", p, err)
		}
	}
	var skipped []Skipped
	w := &batchWriter{db: db, size: rebuildBatch}
	err = eachReport(ctx, out, func(s Skipped) { skipped = append(skipped, s) }, func(k string, r *reports.Report) error {
		if also != nil {
			if err := also(k, r); err != nil {
				return err
			}
		}
		return w.add(ctx, k, r)
	})
	if err == nil {
		err = w.commit(ctx)
	}
	w.rollback()
	if err != nil {
		return nil, err
	}
	if err := boundCache(ctx, db); err != nil {
		return nil, err
	}
	if err := rank(ctx, db); err != nil {
		return nil, err
	}
	// a fresh index has no page_links: the pages whose neighbours are not
	// what they show are re-rendered (every page, with forcePages)
	if _, err := relink(ctx, db, out, forcePages); err != nil {
		return nil, err
	}
	if err := writePage(ctx, db, filepath.Join(out, IndexHTML)); err != nil {
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("archive: close index: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("archive: rename index: %w", err)
	}
	// The same canonical copy a scan's Flush makes: how a value is stored
	// on disk (a whole REAL as an integer or not) depends on how it was
	// written; a copy by value, in canonical order, makes the file a
	// function of the rows alone.
	if err := Canonicalize(ctx, out); err != nil {
		return nil, err
	}
	return skipped, nil
}

// Rebuild re-renders every build's pages and rebuilds the index from the
// archived JSON (`tomscan report`), one report in memory at a time.
// Reports that cannot be read are skipped and returned.
func Rebuild(ctx context.Context, out string) ([]Skipped, error) {
	// md here; every report.html once the index is ranked (relink), so
	// each page is rendered once, with its neighbours
	md := map[string]bool{"md": true}
	return rebuildIndex(ctx, out, func(k string, r *reports.Report) error {
		if err := WritePages(reports.BuildDir(out, k), r, md); err != nil {
			return fmt.Errorf("archive: render %s: %w", k, err)
		}
		return nil
	}, true)
}

// Reindex rebuilds index.sqlite and index.html alone, streaming.
func Reindex(ctx context.Context, out string) ([]Skipped, error) {
	return rebuildIndex(ctx, out, nil, false)
}

// Problem is one thing `tomscan report --check` found.
type Problem struct {
	Key  string
	What string // "unreadable", "not indexed", "indexed without report"
	Err  error
}

func (p Problem) String() string {
	if p.Err != nil {
		return fmt.Sprintf("%s: %s: %v", p.Key, p.What, p.Err)
	}
	return fmt.Sprintf("%s: %s", p.Key, p.What)
}

// Check reads every archived report (one at a time) and compares the
// archive with its index, without changing anything: reports that cannot
// be read, builds missing from the index, index rows without a report.
// A missing or unusable index is one problem, keyed "index.sqlite".
func Check(ctx context.Context, out string) ([]Problem, error) {
	var probs []Problem
	readable := map[string]bool{}
	err := eachReport(ctx, out, func(s Skipped) {
		probs = append(probs, Problem{Key: s.Key, What: "unreadable", Err: s.Err})
	}, func(k string, _ *reports.Report) error {
		readable[k] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	indexed, err := indexedKeys(ctx, out)
	if err != nil {
		probs = append(probs, Problem{Key: IndexDB, What: "unusable index", Err: err})
		return probs, nil
	}
	for k := range readable {
		if !indexed[k] {
			probs = append(probs, Problem{Key: k, What: "not indexed"})
		}
	}
	keys, err := Keys(out)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
	}
	for k := range indexed {
		if !have[k] {
			probs = append(probs, Problem{Key: k, What: "indexed without report"})
		}
	}
	sort.Slice(probs, func(i, j int) bool {
		if probs[i].Key != probs[j].Key {
			return probs[i].Key < probs[j].Key
		}
		return probs[i].What < probs[j].What
	})
	return probs, nil
}

func indexedKeys(ctx context.Context, out string) (map[string]bool, error) {
	db, err := openReadOnly(out)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'index_version'`).Scan(&v); err != nil || v != indexVersion {
		return nil, fmt.Errorf("index layout %q, want %q (run 'tomscan report'): %v", v, indexVersion, err)
	}
	rows, err := db.QueryContext(ctx, `SELECT sha256 FROM builds`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys[k] = true
	}
	return keys, rows.Err()
}

func decodeHosts(s string) []string {
	var hosts []string
	if s == "" || json.Unmarshal([]byte(s), &hosts) != nil || len(hosts) == 0 {
		return nil
	}
	return hosts
}

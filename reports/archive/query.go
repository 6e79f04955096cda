package archive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/tomscan/tomscan/internal/termtable"
	"github.com/tomscan/tomscan/reports"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// Result is the answer to a query: column names and rows of cells.
type Result struct {
	Columns []string
	Rows    [][]any // string, int64, float64 or nil
}

// ErrNotSelect is returned for SQL that is not one read-only SELECT.
var ErrNotSelect = errors.New("only one SELECT statement is allowed")

var (
	selectStart = regexp.MustCompile(`(?is)^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(select|with)\b`)
	trailingSQL = regexp.MustCompile(`;\s*\S`)
)

// CheckSelect accepts one SELECT (or WITH ... SELECT) statement. It is the
// first guard; the second is that the index is opened read-only with
// PRAGMA query_only, so even a statement that slipped through cannot write.
// A ';' followed by anything is refused, even inside a string literal.
func CheckSelect(q string) error {
	if !selectStart.MatchString(q) || trailingSQL.MatchString(q) {
		return ErrNotSelect
	}
	return nil
}

// openReadOnly opens OUT/index.sqlite read-only.
func openReadOnly(out string) (*sql.DB, error) {
	path, err := filepath.Abs(filepath.Join(out, IndexDB))
	if err != nil {
		return nil, fmt.Errorf("archive: index path: %w", err)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("archive: no index (run 'tomscan report --out %s'): %w", out, err)
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_pragma=query_only(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("archive: open index: %w", err)
	}
	return db, nil
}

// Query runs one read-only SELECT on the archive's index.
func Query(ctx context.Context, out, q string, args ...any) (*Result, error) {
	if err := CheckSelect(q); err != nil {
		return nil, err
	}
	db, err := openReadOnly(out)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("archive: query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("archive: query columns: %w", err)
	}
	res := &Result{Columns: cols}
	for rows.Next() {
		cells := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range cells {
			ptrs[i] = &cells[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("archive: query row: %w", err)
		}
		for i, c := range cells {
			switch x := c.(type) {
			case []byte:
				cells[i] = string(x)
			case bool:
				cells[i] = map[bool]int64{true: 1, false: 0}[x]
			}
		}
		res.Rows = append(res.Rows, cells)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("archive: query: %w", err)
	}
	return res, nil
}

// Presets are the questions asked most, as SQL with one parameter.
var Presets = map[string]string{
	"verdict": `SELECT sha256, version, verdict, confidence, status, endpoints, keywords, path
FROM builds WHERE verdict = ? ORDER BY version_rank, sha256`,
	"endpoint": `SELECT b.sha256, b.version, b.verdict, e.host, e.value, e.class, e.country, e.node
FROM endpoints e JOIN builds b ON b.sha256 = e.build
WHERE e.host = lower(?1) OR instr(e.value, ?1) > 0 ORDER BY b.version_rank, b.sha256, e.value`,
	"keyword": `SELECT DISTINCT b.sha256, b.version, b.verdict, k.list, k.snapshot, k.node
FROM keywords k JOIN builds b ON b.sha256 = k.build
WHERE k.keyword = ? ORDER BY b.version_rank, b.sha256, k.list, k.node`,
	// every build that has a keyword list, in version order, with whether
	// one of its lists holds the word: when it appeared, when it went away
	"keyword-history": `SELECT b.version, b.sha256, b.verdict, b.keyword_lists, b.keywords,
  EXISTS (SELECT 1 FROM keywords k WHERE k.build = b.sha256 AND k.keyword = ?) AS present
FROM builds b WHERE b.keyword_lists > 0 ORDER BY b.version_rank, b.sha256`,
}

// Cell renders one cell as text.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// Table renders r as aligned text columns, every cell through escape
// (reports.Terminal for a terminal).
func (r *Result) Table(escape func(string) string) string {
	cells := make([][]string, 0, len(r.Rows)+1)
	head := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		head[i] = escape(c)
	}
	cells = append(cells, head)
	for _, row := range r.Rows {
		line := make([]string, len(row))
		for i, c := range row {
			line[i] = escape(Cell(c))
		}
		cells = append(cells, line)
	}
	return termtable.Format(cells, 2) // by display width: Chinese cells align
}

// HasRules tells, without taking the archive's lock, whether OUT's index
// holds a build (not failed) archived with the rules digest and tool
// version given; false when there is no usable index. A scan asks before it
// opens the archive: when false, it will need the compiled rules for
// certain, and compiles them at once (a rule that does not compile then
// stops it before the archive is touched).
func HasRules(ctx context.Context, out, rulesDigest, toolVersion string) bool {
	db, err := openReadOnly(out)
	if err != nil {
		return false
	}
	defer db.Close()
	var one int
	err = db.QueryRowContext(ctx, `SELECT 1 FROM builds WHERE rules_digest = ? AND tool_version = ? AND status != ? LIMIT 1`,
		rulesDigest, toolVersion, reports.StatusFailed).Scan(&one)
	return err == nil
}

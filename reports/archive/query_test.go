package archive_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/termtable"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

func TestPresets(t *testing.T) {
	out := newArchive(t)
	ctx := context.Background()
	for _, tc := range []struct {
		preset, arg string
		rows        int
		contains    string
	}{
		{"verdict", "tom-skype-english", 1, reportstest.TOMKey},
		{"verdict", "regular-skype", 1, reportstest.RegularKey},
		{"endpoint", "skypetools.tom.com", 2, "keyword-list"},
		{"endpoint", "SKYPETOOLS.TOM.COM", 2, "keyword-list"},
		{"endpoint", "220.181.9.132", 1, "CN"},
		{"endpoint", "nowhere.example", 0, ""},
		{"keyword", "法轮功", 2, "keyfile_u"},
		{"keyword", "胡锦涛", 1, reportstest.ChineseKey},
		{"keyword", "not-a-keyword", 0, ""},
		{"keyword-history", "falun", 3, reportstest.TOMKey}, // the TOM, Chinese and hostile builds have lists
		{"verdict", "tom-skype-chinese", 1, reportstest.ChineseKey},
		{"verdict", "post-tom-joint-venture", 1, reportstest.GMWKey},
	} {
		res, err := archive.Query(ctx, out, archive.Presets[tc.preset], tc.arg)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.preset, tc.arg, err)
		}
		table := res.Table(reports.Terminal)
		if len(res.Rows) != tc.rows || !strings.Contains(table, tc.contains) {
			t.Errorf("%s %q: %d rows, want %d containing %q:\n%s", tc.preset, tc.arg, len(res.Rows), tc.rows, tc.contains, table)
		}
	}
	res, err := archive.Query(ctx, out, archive.Presets["keyword-history"], "falun")
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]string{}
	for _, row := range res.Rows {
		present[archive.Cell(row[1])] = archive.Cell(row[5])
	}
	if present[reportstest.TOMKey] != "1" || present[reportstest.HostileKey] != "0" {
		t.Errorf("keyword history: %v", present)
	}
}

func TestQueryIsReadOnly(t *testing.T) {
	out := newArchive(t)
	ctx := context.Background()
	for _, q := range []string{
		"DELETE FROM builds",
		"DROP TABLE builds",
		"SELECT 1; DELETE FROM builds",
		"ATTACH DATABASE '/tmp/x.db' AS x",
		"PRAGMA query_only=0",
		"",
	} {
		if _, err := archive.Query(ctx, out, q); !errors.Is(err, archive.ErrNotSelect) {
			t.Errorf("%q: err = %v, want ErrNotSelect", q, err)
		}
	}
	// A write hidden behind WITH passes the text check; the read-only
	// connection must still refuse it.
	if _, err := archive.Query(ctx, out, "WITH x AS (SELECT 1) DELETE FROM builds"); err == nil {
		t.Error("a write inside WITH was executed")
	}
	res, err := archive.Query(ctx, out, "-- comment\nSELECT count(*) AS n FROM builds")
	if err != nil {
		t.Fatal(err)
	}
	if archive.Cell(res.Rows[0][0]) != fmt.Sprint(len(reportstest.All())) {
		t.Errorf("builds after the write attempts: %v", res.Rows)
	}
}

func TestTableEscapesCells(t *testing.T) {
	out := newArchive(t)
	res, err := archive.Query(context.Background(), out, "SELECT path FROM builds ORDER BY sha256")
	if err != nil {
		t.Fatal(err)
	}
	table := res.Table(reports.Terminal)
	if strings.ContainsAny(table, "\x1b\u202e\r") {
		t.Errorf("table carries control characters: %q", table)
	}
	if !strings.Contains(table, `\x1b[31mRED`) {
		t.Error("escape sequences should show as text")
	}
}

// TestTableAlignsChinese: a query's table pads by display width, so the
// column after a keyword in Chinese starts where it does after ASCII.
func TestTableAlignsChinese(t *testing.T) {
	res := &archive.Result{Columns: []string{"keyword", "list"}, Rows: [][]any{{"法轮功", "keyfile"}, {"falun", "keyfile_u"}}}
	lines := strings.Split(strings.TrimSuffix(res.Table(reports.Terminal), "\n"), "\n")
	at := func(l, w string) int { return termtable.Width(l[:strings.Index(l, w)]) }
	if a, b, c := at(lines[0], "list"), at(lines[1], "keyfile"), at(lines[2], "keyfile_u"); a != b || b != c {
		t.Errorf("second column at %d, %d, %d:\n%s", a, b, c, strings.Join(lines, "\n"))
	}
}

package archive

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/tomscan/tomscan/reports"
)

// A build's page links to the archive around it: the index, its own
// report.json and report.md, and the previous and next build of the same
// family (the same verdict) by version. The neighbours are known only once
// the index is ranked, so Flush and the rebuilds re-render the pages whose
// neighbours changed (relink); page_links remembers what each page shows.

// pageLinks are the links of a page in OUT/builds/<key>/, relative to it.
func pageLinks(dir string, md bool) reports.Links {
	l := reports.Links{Index: "../../" + IndexHTML, JSON: ReportJSON}
	if md {
		l.MD = ReportMD
	} else if _, err := os.Stat(filepath.Join(dir, ReportMD)); err == nil {
		l.MD = ReportMD
	}
	return l
}

// WritePages renders the pages asked for (md, html) of r into the build's
// folder dir, the HTML with its links to the archive (neighbours are added
// by the next Flush).
func WritePages(dir string, r *reports.Report, formats map[string]bool) error {
	return writePagesLinks(dir, r, formats, pageLinks(dir, formats["md"]))
}

func writePagesLinks(dir string, r *reports.Report, formats map[string]bool, l reports.Links) error {
	if formats["md"] {
		if err := reports.WriteAtomic(filepath.Join(dir, ReportMD), reports.EncodeMarkdown(r)); err != nil {
			return err
		}
	}
	if formats["html"] {
		h, err := reports.EncodeHTMLLinks(r, l)
		if err != nil {
			return err
		}
		if err := reports.WriteAtomic(filepath.Join(dir, ReportHTML), h); err != nil {
			return err
		}
	}
	return nil
}

const pageLinksSQL = `CREATE TABLE IF NOT EXISTS page_links (sha256 TEXT PRIMARY KEY, prev TEXT NOT NULL, next TEXT NOT NULL)`

type neighbours struct {
	key, family                 string
	prev, prevVersion, prevPath string
	next, nextVersion, nextPath string
	shownPrev, shownNext        string
}

// relink re-renders report.html of every build whose previous or next
// build of its family changed since its page was written (all of them
// with force), and records what each page now shows. Only builds that
// have a report.html are rendered, unless force. One report in memory at
// a time.
func relink(ctx context.Context, db *sql.DB, out string, force bool) (changed int, err error) {
	if _, err := db.ExecContext(ctx, pageLinksSQL); err != nil {
		return 0, fmt.Errorf("archive: page links table: %w", err)
	}
	rows, qerr := db.QueryContext(ctx, `
SELECT b.sha256, b.kind,
  CASE WHEN b.kind = '' THEN '' ELSE coalesce(lag(b.sha256) OVER w, '') END,
  coalesce(lag(b.version) OVER w, ''), coalesce(lag(b.path) OVER w, ''),
  CASE WHEN b.kind = '' THEN '' ELSE coalesce(lead(b.sha256) OVER w, '') END,
  coalesce(lead(b.version) OVER w, ''), coalesce(lead(b.path) OVER w, ''),
  coalesce(p.prev, ''), coalesce(p.next, '')
FROM builds b LEFT JOIN page_links p ON p.sha256 = b.sha256
WINDOW w AS (PARTITION BY b.kind ORDER BY b.version_rank, b.sha256)
ORDER BY b.version_rank, b.sha256`)
	if qerr != nil {
		return 0, fmt.Errorf("archive: page links: %w", qerr)
	}
	var todo []neighbours
	for rows.Next() {
		var n neighbours
		if err := rows.Scan(&n.key, &n.family, &n.prev, &n.prevVersion, &n.prevPath, &n.next, &n.nextVersion, &n.nextPath, &n.shownPrev, &n.shownNext); err != nil {
			rows.Close()
			return 0, fmt.Errorf("archive: page links: %w", err)
		}
		if force || n.prev != n.shownPrev || n.next != n.shownNext {
			todo = append(todo, n)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("archive: page links: %w", err)
	}
	// the rows go in one transaction: thousands of builds, one commit
	tx, txErr := db.BeginTx(ctx, nil)
	if txErr != nil {
		return 0, fmt.Errorf("archive: page links begin: %w", txErr)
	}
	defer tx.Rollback()
	for _, n := range todo {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		dir := reports.BuildDir(out, n.key)
		page, err := os.ReadFile(filepath.Join(dir, ReportHTML))
		switch {
		case errors.Is(err, os.ErrNotExist) && !force:
			// no page to link (--format json only): remember the
			// neighbours so the build is not looked at again
		default:
			l := pageLinks(dir, false)
			l.Prev = neighbour(out, n.prev, n.prevVersion, n.prevPath, n.family, force)
			l.Next = neighbour(out, n.next, n.nextVersion, n.nextPath, n.family, force)
			relinked, err := relinkPage(dir, page, l, force)
			if err != nil {
				return 0, fmt.Errorf("archive: relink %s: %w", n.key, err)
			}
			if !relinked {
				continue // unreadable report: report --check lists it; the page stays as it is
			}
		}
		// A build without neighbours has no row (what relink reads as ""),
		// so the table is a function of the builds whether it was filled
		// page by page or forced by a rebuild: the canonical index bytes
		// depend on it.
		q, args := `INSERT OR REPLACE INTO page_links VALUES (?, ?, ?)`, []any{n.key, n.prev, n.next}
		if n.prev == "" && n.next == "" {
			q, args = `DELETE FROM page_links WHERE sha256 = ?`, []any{n.key}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return 0, fmt.Errorf("archive: page links %s: %w", n.key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("archive: page links commit: %w", err)
	}
	return len(todo), nil
}

// relinkPage gives the page in dir the links l. A page this version of
// tomscan wrote gets only its links bar replaced (reports.RelinkHTML: the
// bytes a render would give, without decoding report.json); with force (a
// rebuild re-renders every page), or when the page is missing or not one
// of ours, it is rendered from report.json. relinked is false when that
// report cannot be read.
func relinkPage(dir string, page []byte, l reports.Links, force bool) (relinked bool, err error) {
	if !force && page != nil {
		out, ok, err := reports.RelinkHTML(page, l)
		if err != nil {
			return false, err
		}
		if ok {
			if bytes.Equal(out, page) {
				return true, nil
			}
			return true, reports.WriteAtomic(filepath.Join(dir, ReportHTML), out)
		}
	}
	r, err := reports.ReadFile(filepath.Join(dir, ReportJSON))
	if err != nil {
		return false, nil
	}
	return true, writePagesLinks(dir, r, map[string]bool{"html": true}, l)
}

// neighbour is the link to build key, the previous or next of a page's
// family: to its report.html, else the page or record it has (buildPage:
// a build scanned with --format json has none). With force every page is
// being rendered, its neighbours' too.
func neighbour(out, key, version, p, family string, force bool) *reports.Neighbour {
	if key == "" {
		return nil
	}
	page := ReportHTML
	if !force {
		page = buildPage(out, key)
	}
	label := version
	if label == "" {
		label = "unknown version"
	}
	if b := path.Base(filepath.ToSlash(p)); b != "" && b != "." {
		label += " (" + b + ")"
	}
	return &reports.Neighbour{Href: "../" + key + "/" + page, Label: label, Family: family}
}

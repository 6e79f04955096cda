package export

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/keywords"
	"github.com/tomscan/tomscan/internal/tom/lists"
)

// cell makes a value safe for a spreadsheet: a cell that starts with = + -
// @ or a tab/CR would be run as a formula by Excel and LibreOffice (CSV
// injection), and paths and keywords come from hostile binaries. Such a
// cell gets a leading apostrophe, which spreadsheets show as text; the
// NDJSON and STIX exports keep the bytes unchanged.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteCSV writes one row per build: path, sha256, version, verdict,
// confidence, language, status, endpoints (count), hosts, keyword lists
// (count), keywords per list role (keyfile, keyfile_u, other), the closest
// snapshot of each list.
func WriteCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	rs := roles
	head := []string{"path", "sha256", "version", "verdict", "confidence", "language", "status", "endpoints", "hosts", "keyword_lists"}
	for _, r := range rs {
		head = append(head, r+"_keywords")
	}
	head = append(head, "closest_snapshot")
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("export: csv: %w", err)
	}
	for _, r := range recs {
		var closest []string
		for _, l := range r.Lists {
			if c := l.Closest(); c != "" {
				closest = append(closest, c+" (jaccard "+l.Jaccard+")")
			}
		}
		row := []string{cell(r.Path), r.SHA256, cell(r.Version), r.Verdict, strconv.FormatFloat(r.Confidence, 'f', -1, 64),
			r.Language, r.Status, strconv.Itoa(len(r.Endpoints)), cell(strings.Join(r.hosts(), "; ")), strconv.Itoa(len(r.Lists))}
		for _, role := range rs {
			row = append(row, strconv.Itoa(r.roleCount(role)))
		}
		row = append(row, cell(strings.Join(closest, "; ")))
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("export: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: csv: %w", err)
	}
	return nil
}

// Keyword statuses against a list's closest snapshot.
const (
	StatusKnown     = "known"     // in the recovered list and in the snapshot
	StatusAdded     = "added"     // in the recovered list, not in the snapshot
	StatusRemoved   = "removed"   // in the snapshot, not in the recovered list
	StatusUnmatched = "unmatched" // the list was not compared with snapshots at scan time
)

// WriteKeywordsCSV writes one row per keyword of every recovered list:
// build (sha256), path, list role, the list's node, closest snapshot, keyword
// and its status (known, added, removed). snapshotsDir is the folder of known
// snapshots (Citizen Lab layout, as `scan --keyword-lists`): the report names
// the closest snapshot, and the snapshot's own words give the removed ones.
func WriteKeywordsCSV(ctx context.Context, w io.Writer, recs []Record, snapshotsDir string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"sha256", "path", "list_role", "list_node", "closest_snapshot", "keyword", "status"}); err != nil {
		return fmt.Errorf("export: csv: %w", err)
	}
	cache := map[string]*snapshot{}
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, l := range r.Lists {
			var snap *snapshot
			if l.Snapshot != "" {
				var err error
				if snap, err = snapshotSet(snapshotsDir, l, cache); err != nil {
					return err
				}
			}
			for _, kw := range keywordRows(l.Keywords, snap) {
				if err := cw.Write([]string{r.SHA256, cell(r.Path), cell(l.Role), cell(l.Node), l.Closest(), cell(kw[0]), kw[1]}); err != nil {
					return fmt.Errorf("export: csv: %w", err)
				}
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: csv: %w", err)
	}
	return nil
}

// keywordRows pairs each keyword with its status: the recovered distinct
// entries in the order the list holds them (known or added), then the
// snapshot's entries the list lacks (removed), in the snapshot's order. A nil
// snapshot makes every keyword unmatched. Entries are compared byte for byte,
// as the report keeps them (internal/keywords: "x卧底下载 " with its trailing
// space is not "x卧底下载"), never trimmed or merged.
func keywordRows(recovered []string, snap *snapshot) [][2]string {
	var out [][2]string
	have := map[string]bool{}
	for _, k := range keywords.Distinct(recovered) {
		have[k] = true
		st := StatusUnmatched
		switch {
		case snap == nil:
		case snap.set[k]:
			st = StatusKnown
		default:
			st = StatusAdded
		}
		out = append(out, [2]string{k, st})
	}
	if snap != nil {
		for _, k := range snap.entries {
			if !have[k] {
				out = append(out, [2]string{k, StatusRemoved})
			}
		}
	}
	return out
}

// snapshot is one snapshot file's distinct exact entries, in file order.
type snapshot struct {
	entries []string
	set     map[string]bool
}

// maxSnapshotBytes bounds one snapshot file read (as internal/tom/lists does).
const maxSnapshotBytes = 16 << 20

// snapshotSet reads the canonical words of l's closest snapshot from dir:
// tom-skype-raw-data/dlist-<family>/<role>.<date>.plain. The names come from
// a report, so they are checked before they make a path.
func snapshotSet(dir string, l List, cache map[string]*snapshot) (*snapshot, error) {
	name := l.Closest()
	if s, ok := cache[name]; ok {
		return s, nil
	}
	for _, part := range []string{l.Family, l.Role, l.Snapshot} {
		if part == "" || strings.ContainsAny(part, `/\`) || strings.Contains(part, "..") {
			return nil, fmt.Errorf("export: snapshot name %q in a report is not a plain name", name)
		}
	}
	path := filepath.Join(dir, "tom-skype-raw-data", "dlist-"+l.Family, l.Role+"."+l.Snapshot+".plain")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("export: snapshot %s: %w (is --keyword-lists the folder the scan used?)", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSnapshotBytes+1))
	if err != nil {
		return nil, fmt.Errorf("export: snapshot %s: %w", name, err)
	}
	if len(b) > maxSnapshotBytes {
		return nil, fmt.Errorf("export: snapshot %s: larger than %d bytes", name, maxSnapshotBytes)
	}
	// Snapshots are UTF-8 as the Citizen Lab publishes them, else GBK as the
	// clients stored them: the same reading internal/tom/lists gives them.
	text := strings.ToValidUTF8(string(b), "")
	if d, ok := lists.Decode(b); ok {
		text = strings.Join(d.Lines, "\n")
	}
	snap := &snapshot{entries: keywords.Distinct(keywords.Entries(text)), set: map[string]bool{}}
	for _, k := range snap.entries {
		snap.set[k] = true
	}
	cache[name] = snap
	return snap, nil
}

// WriteNDJSON writes one JSON object per build and line.
func WriteNDJSON(w io.Writer, recs []Record) error {
	for _, r := range recs {
		if err := WriteLine(w, r); err != nil {
			return err
		}
	}
	return nil
}

// WriteLine writes one record as one line of JSON: what `scan --ndjson`
// prints for each finished build.
func WriteLine(w io.Writer, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("export: ndjson: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("export: ndjson: %w", err)
	}
	return nil
}

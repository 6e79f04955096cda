package lists

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tomscan/tomscan/internal/keywords"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const sample = "法轮功\r\n六四\r\n天安门\r\n胡锦涛\r\nFLG\r\n"

func TestDecode(t *testing.T) {
	random := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.UintN(256))
	}
	for _, tc := range []struct {
		name    string
		in      []byte
		ok      bool
		enc     string
		nlines  int
		firstLn string
	}{
		{"gbk crlf", gbk(t, sample), true, EncGBK, 5, "法轮功"},
		{"utf-8 lf", []byte(strings.ReplaceAll(sample, "\r", "")), true, EncUTF8, 5, "法轮功"},
		{"utf-8 bom", append([]byte("\xef\xbb\xbf"), sample...), true, EncUTF8, 5, "法轮功"},
		{"two lines", gbk(t, "法轮功\r\n六四\r\n"), false, "", 0, ""},
		{"random", random, false, "", 0, ""},
		{"nul inside", append(gbk(t, sample), 0), false, "", 0, ""},
		{"english text", []byte("This program is free software\nyou can redistribute it\nunder the terms\nof the GPL\n"), false, "", 0, ""},
		{"chinese prose", gbk(t, strings.Repeat("本软件是自由软件，您可以在自由软件基金会发布的通用公共许可证的条款下重新分发和修改它。\r\n", 4)), false, "", 0, ""},
		{"invalid gbk", append(gbk(t, sample), 0x81, 0x20), false, "", 0, ""},
		{"private use", []byte("法轮功\n六四\n\ue000\ue001\n"), false, "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := Decode(tc.in)
			if ok != tc.ok {
				t.Fatalf("Decode ok = %v, want %v (%q)", ok, tc.ok, d.Lines)
			}
			if !ok {
				return
			}
			if d.Encoding != tc.enc || len(d.Lines) != tc.nlines || d.Lines[0] != tc.firstLn {
				t.Errorf("Decode = %s %q", d.Encoding, d.Lines)
			}
		})
	}
}

func TestPrefixNeverRejectsAList(t *testing.T) {
	b := gbk(t, sample)
	for i := range b {
		if !Prefix(b[:i]) {
			t.Fatalf("Prefix rejects the first %d bytes of a list", i)
		}
	}
	if Prefix([]byte{'a', 0x01}) || Prefix([]byte{0xff}) {
		t.Errorf("Prefix accepts control bytes")
	}
}

func writeSnap(t *testing.T, dir, family, file string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, "tom-skype-raw-data", "dlist-"+family)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, file), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	writeSnap(t, dir, "3.6", "keyfile.2011-04-24.plain", []byte("法轮功\n六四\n天安门\n"))
	writeSnap(t, dir, "5.0", "keyfile.2011-05-01.plain", gbk(t, "法轮功\r\n六四\r\n胡锦涛\r\nFLG\r\n"))
	writeSnap(t, dir, "5.0", "README.md", []byte("not a snapshot"))
	writeSnap(t, dir, "5.1s", "keyfile_u.2011-05-02.plain", gbk(t, "法轮功\r\n六四\r\n胡锦涛\r\nFLG\r\n"))
	s, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.List) != 3 {
		t.Fatalf("%d snapshots, want 3", len(s.List))
	}
	if again, _ := Load(context.Background(), dir+"/"); again != s {
		t.Errorf("second Load did not use the cache")
	}
	m := s.Compare([]string{"法轮功", "六四", "胡锦涛", "FLG", "新词"})
	if m.Family != "5.0" || m.Date != "2011-05-01" || m.Name != "keyfile" {
		t.Errorf("best = %+v, want 5.0 2011-05-01", m)
	}
	if len(m.Ties) != 1 || m.Ties[0] != "5.1s/keyfile_u.2011-05-02" {
		t.Errorf("Ties = %q", m.Ties)
	}
	if m.Jaccard != 0.8 { // 4 shared of 5 in the union
		t.Errorf("Jaccard = %v, want 0.8", m.Jaccard)
	}
	if len(m.Unknown) != 1 || m.Unknown[0] != "新词" {
		t.Errorf("Unknown = %q", m.Unknown)
	}
	if _, err := Load(context.Background(), t.TempDir()); err == nil {
		t.Errorf("empty folder loaded")
	}
}

// TestCitizenLabSnapshotsArePlausible holds the plausibility test to the
// real lists: every published snapshot, in UTF-8 and in GBK, must pass.
func TestCitizenLabSnapshotsArePlausible(t *testing.T) {
	dir := os.Getenv("TOMSCAN_KEYWORD_LISTS")
	if dir == "" {
		t.Skip("TOMSCAN_KEYWORD_LISTS not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "tom-skype-raw-data", "dlist-*", "*.plain"))
	if len(files) == 0 {
		t.Fatalf("no snapshots under %s", dir)
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(keywords.Canonical(keywords.Split(string(b)))) < MinLines {
			continue // a few snapshots hold one keyword: not a list to recognise
		}
		checked++
		if _, ok := Decode(b); !ok {
			t.Errorf("%s: not plausible as UTF-8", f)
		}
		g, err := simplifiedchinese.GBK.NewEncoder().Bytes(bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")))
		if err != nil {
			continue // a character GBK lacks: not a list a client could have held
		}
		if _, ok := Decode(g); !ok {
			t.Errorf("%s: not plausible as GBK", f)
		}
	}
	if checked == 0 {
		t.Fatalf("no snapshot with %d keywords or more", MinLines)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(sample))
	f.Add(gbk(f, sample))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, ok := Decode(b)
		if ok && len(d.Lines) < MinLines {
			t.Fatalf("accepted %d lines", len(d.Lines))
		}
	})
}

// checkGBKShaped fails t when gbkShaped(b) is false but GBK decodes b
// without a replacement character (so Decode would have gone on).
func checkGBKShaped(t *testing.T, b []byte) bool {
	shaped := gbkShaped(b)
	if !shaped {
		out, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
		if err == nil && !bytes.ContainsRune(out, utf8.RuneError) {
			t.Fatalf("gbkShaped(%q) = false, but it decodes to %q", b, out)
		}
	}
	return shaped
}

// TestGBKShaped: the shape test never turns away what the decoder takes,
// on random byte strings biased to lead and trail bytes and the edges of
// their ranges, and on the real lists in GBK.
func TestGBKShaped(t *testing.T) {
	edges := []byte{0, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0x81, 0xa1, 0xb0, 0xd6, 0xfe, 0xff, 'a', '\n'}
	rng := rand.New(rand.NewPCG(9, 1))
	no := 0
	for range 300000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			if rng.IntN(2) == 0 {
				b[i] = edges[rng.IntN(len(edges))]
			} else {
				b[i] = byte(rng.Uint32())
			}
		}
		if !checkGBKShaped(t, b) {
			no++
		}
	}
	if no == 0 {
		t.Fatal("gbkShaped never said no: the test proves nothing")
	}
	if !checkGBKShaped(t, gbk(t, sample)) {
		t.Fatal("a real list in GBK is not GBK-shaped")
	}
}

func FuzzGBKShaped(f *testing.F) {
	f.Add(gbk(f, sample))
	f.Add([]byte{0x81, 0x7f})
	f.Add([]byte{0x80, 0xfe})
	f.Fuzz(func(t *testing.T, b []byte) { checkGBKShaped(t, b) })
}

// compareByMaps is Compare as it was written first, with a map per
// snapshot: the oracle for the numbered entries Compare uses.
func compareByMaps(s *Snapshots, lines []string) Match {
	set := keywords.Distinct(lines)
	sets := make([]map[string]bool, len(s.List))
	known := map[string]bool{}
	for i, snap := range s.List {
		sets[i] = map[string]bool{}
		for _, l := range snap.order {
			sets[i][l] = true
			known[l] = true
		}
	}
	var best Match
	bestIdx, bestJ := -1, -1.0
	scores := make([]float64, len(s.List))
	for i, snap := range s.List {
		inter := 0
		for _, l := range set {
			if sets[i][l] {
				inter++
			}
		}
		union := len(set) + len(sets[i]) - inter
		j := 0.0
		if union > 0 {
			j = float64(inter) / float64(union)
		}
		scores[i] = j
		if j > bestJ {
			bestJ, bestIdx = j, i
			best = Match{Family: snap.Family, Name: snap.Name, Date: snap.Date, Jaccard: j, Common: inter}
		}
	}
	for i, snap := range s.List {
		if scores[i] == bestJ && !(snap.Family == best.Family && snap.Name == best.Name && snap.Date == best.Date) {
			best.Ties = append(best.Ties, snap.Family+"/"+snap.Name+"."+snap.Date)
		}
	}
	best.Jaccard = float64(int(best.Jaccard*10000+0.5)) / 10000
	best.Added, best.Removed = []string{}, []string{}
	if bestIdx >= 0 {
		in := map[string]bool{}
		for _, l := range set {
			in[l] = true
			if !sets[bestIdx][l] {
				best.Added = append(best.Added, l)
			}
		}
		for _, l := range s.List[bestIdx].order {
			if !in[l] {
				best.Removed = append(best.Removed, l)
			}
		}
	}
	for _, l := range set {
		if !known[l] {
			best.Unknown = append(best.Unknown, l)
		}
	}
	sort.Strings(best.Unknown)
	return best
}

// TestCompareEqualsMapOracle: on the Citizen Lab snapshots, Compare gives
// the oracle's Match for every snapshot as a list, and for lists made from
// them (entries dropped, unknown ones and duplicates added, two mixed, one
// empty).
func TestCompareEqualsMapOracle(t *testing.T) {
	dir := os.Getenv("TOMSCAN_KEYWORD_LISTS")
	if dir == "" {
		t.Skip("TOMSCAN_KEYWORD_LISTS not set")
	}
	s, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(16, 18))
	var queries [][]string
	for i, snap := range s.List {
		queries = append(queries, snap.order)
		var some []string
		for _, l := range snap.order {
			if rng.IntN(3) > 0 {
				some = append(some, l)
			}
			if rng.IntN(50) == 0 {
				some = append(some, l, fmt.Sprintf("新词%d", rng.IntN(1000)))
			}
		}
		queries = append(queries, some)
		other := s.List[(i+7)%len(s.List)].order
		queries = append(queries, append(append([]string(nil), some[:len(some)/2]...), other[len(other)/2:]...))
	}
	queries = append(queries, nil, []string{"only unknown"})
	for i, q := range queries {
		got, want := s.Compare(q), compareByMaps(s, q)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("query %d (%d lines): Compare = %+v\nwant %+v", i, len(q), got, want)
		}
	}
}

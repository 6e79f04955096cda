package lists

import (
	"context"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/tomscan/tomscan/internal/keywords"
)

// Snapshot is one dated list of the Citizen Lab layout
// tom-skype-raw-data/dlist-<family>/<name>.<date>.plain.
type Snapshot struct {
	Family string
	Name   string   // "keyfile" or "keyfile_u"
	Date   string   // "2011-04-27"
	has    bitset   // the entries, by their number (Snapshots.ids)
	order  []string // distinct exact entries in file order
}

// bitset is a set of entry numbers.
type bitset []uint64

func (b bitset) contains(id int32) bool {
	return id >= 0 && int(id>>6) < len(b) && b[id>>6]&(1<<(id&63)) != 0
}

// Snapshots is every snapshot of one folder, sorted by family, name, date.
type Snapshots struct {
	List []Snapshot
	// Digest is the sha256 over every snapshot file read (its path below
	// tom-skype-raw-data and the sha256 of its bytes, in path order): what a
	// report's comparisons depend on (reports.Cache.KeywordLists).
	Digest string
	// ids numbers every entry of any snapshot: Compare looks each entry
	// of a list up once, not once per snapshot (a map lookup per entry
	// and snapshot was most of the TOM verdict of a rules-only rescan).
	ids map[string]int32
}

// Match is how a recovered list compares with the snapshots, entry by exact
// entry (keywords.Entries): "x卧底下载 " and "x卧底下载" are two entries.
type Match struct {
	Family  string  `json:"family"`
	Name    string  `json:"name"`
	Date    string  `json:"date"`
	Jaccard float64 `json:"jaccard"`
	// Ties are the other snapshots with the same similarity, as
	// "<family>/<name>.<date>": the families share many identical lists.
	Ties    []string `json:"ties,omitempty"`
	Unknown []string `json:"unknown,omitempty"` // entries in no snapshot, sorted
	// Added are the recovered list's entries that the closest snapshot
	// lacks, in the list's order; Removed are the snapshot's entries that
	// the list lacks, in the snapshot's order.
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// Common counts the distinct entries both hold.
	Common int `json:"common"`
}

var snapshotFile = regexp.MustCompile(`^dlist-([^/]+)/(keyfile(?:_u)?)\.(\d{4}-\d{2}-\d{2})\.plain$`)

const (
	maxSnapshots     = 1000
	maxSnapshotBytes = 16 << 20
)

var cache sync.Map // cleaned dir -> *loadOnce

type loadOnce struct {
	once sync.Once
	s    *Snapshots
	err  error
}

// Load reads the snapshots under dir once per process; later calls with the
// same dir share the result.
func Load(ctx context.Context, dir string) (*Snapshots, error) {
	key := filepath.Clean(dir)
	v, _ := cache.LoadOrStore(key, &loadOnce{})
	lo := v.(*loadOnce)
	lo.once.Do(func() { lo.s, lo.err = load(ctx, key) })
	return lo.s, lo.err
}

func load(ctx context.Context, dir string) (*Snapshots, error) {
	s := &Snapshots{ids: map[string]int32{}}
	digest, err := eachSnapshotFile(ctx, dir, func(m []string, b []byte) {
		lines := keywords.Distinct(keywords.Entries(textOf(b)))
		for _, l := range lines {
			if _, ok := s.ids[l]; !ok {
				s.ids[l] = int32(len(s.ids)) // at most maxSnapshots x maxSnapshotBytes lines
			}
		}
		s.List = append(s.List, Snapshot{Family: m[1], Name: m[2], Date: m[3], order: lines})
	})
	if err != nil {
		return nil, err
	}
	for i := range s.List {
		snap := &s.List[i]
		snap.has = make(bitset, (len(s.ids)+63)/64)
		for _, l := range snap.order {
			id := s.ids[l]
			snap.has[id>>6] |= 1 << (id & 63)
		}
	}
	s.Digest = digest
	sort.Slice(s.List, func(i, j int) bool {
		a, b := s.List[i], s.List[j]
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Date < b.Date
	})
	return s, nil
}

// textOf decodes a snapshot: UTF-8 as Citizen Lab publishes them, else GBK
// as the clients stored them.
func textOf(b []byte) string {
	if d, ok := Decode(b); ok {
		return strings.Join(d.Lines, "\n")
	}
	return strings.ToValidUTF8(string(b), "")
}

// Compare finds the snapshot with the highest Jaccard similarity over
// distinct exact entries (ties go to the first in family, name, date order),
// the entries added and removed against it, and the entries in no snapshot.
func (s *Snapshots) Compare(lines []string) Match {
	set := keywords.Distinct(lines)
	ids := make([]int32, len(set)) // -1: in no snapshot
	for i, l := range set {
		id, ok := s.ids[l]
		if !ok {
			id = -1
		}
		ids[i] = id
	}
	var best Match
	bestIdx := -1
	bestJ := -1.0
	scores := make([]float64, len(s.List))
	for i, snap := range s.List {
		inter := 0
		for _, id := range ids {
			if snap.has.contains(id) {
				inter++
			}
		}
		union := len(set) + len(snap.order) - inter
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
		snap := s.List[bestIdx]
		in := make(map[string]bool, len(set))
		for i, l := range set {
			in[l] = true
			if !snap.has.contains(ids[i]) {
				best.Added = append(best.Added, l)
			}
		}
		for _, l := range snap.order {
			if !in[l] {
				best.Removed = append(best.Removed, l)
			}
		}
	}
	for i, l := range set {
		if ids[i] < 0 {
			best.Unknown = append(best.Unknown, l)
		}
	}
	sort.Strings(best.Unknown)
	return best
}

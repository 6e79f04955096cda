package pipeline_test

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
	"github.com/tomscan/tomscan/reports"
)

// TestInputChangedAfterHashing: the engine takes the input's SHA-256 from
// the build's key (made when the inputs were grouped) and checks it against
// the bytes it reads. An input rewritten between the two gets the SHA-256
// of what was scanned and an issue that says the input changed; one left
// alone gets neither, in process and in a worker, with and without lanes.
func TestInputChangedAfterHashing(t *testing.T) {
	for _, c := range []struct {
		name    string
		isolate bool
		cores   int
	}{{"in process", false, 1}, {"in process, lanes", false, 2}, {"worker", true, 1}, {"worker, lanes", true, 2}} {
		dir := t.TempDir()
		big := filepath.Join(dir, "big.bin")
		small := filepath.Join(dir, "small.txt")
		if err := os.WriteFile(big, []byte(strings.Repeat("tomscan input ", 20000)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(small, []byte("left alone"), 0o644); err != nil {
			t.Fatal(err)
		}
		builds := groupDir(t, dir, 2)
		now := []byte(strings.Repeat("TOMSCAN INPUT ", 20000)) // same size, other bytes
		if err := os.WriteFile(big, now, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := pipelinetest.Config(t)
		if c.isolate {
			cfg = isolated(t, cfg, 2<<30)
		}
		cfg.Jobs, cfg.Cores = 1, c.cores
		err := pipeline.Run(context.Background(), cfg, builds, func(r pipeline.Result) {
			rep := reportOf(t, r)
			changed := inputChanged(rep)
			sum := sha256.Sum256(now)
			switch filepath.Base(r.Build.Inputs[0].Path) {
			case "big.bin":
				if !changed || rep.Tree.SHA256 != hex.EncodeToString(sum[:]) || rep.Build.SHA256 != rep.Tree.SHA256 {
					t.Errorf("%s: changed input: sha256 %s (build %s), issues %+v", c.name, rep.Tree.SHA256, rep.Build.SHA256, rep.Tree.Issues)
				}
			default:
				if changed || rep.Tree.SHA256 != r.Build.Key {
					t.Errorf("%s: input left alone: sha256 %s, key %s, issues %+v", c.name, rep.Tree.SHA256, r.Build.Key, rep.Tree.Issues)
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// groupDir discovers and groups the files in dir, which must make want builds.
func groupDir(t *testing.T, dir string, want int) []*pipeline.Build {
	t.Helper()
	inputs, _, err := pipeline.Discover([]string{dir}, pipeline.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	builds, _, err := pipeline.Group(context.Background(), inputs)
	if err != nil || len(builds) != want {
		t.Fatalf("%d builds, want %d: %v", len(builds), want, err)
	}
	return builds
}

// reportOf is a result's report, decoded when it came from a worker.
func reportOf(t *testing.T, r pipeline.Result) *reports.Report {
	t.Helper()
	if r.Report != nil {
		return r.Report
	}
	rep, err := decodeResult(r)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// inputChanged tells whether the report's root says its input changed.
func inputChanged(rep *reports.Report) bool {
	for _, is := range rep.Tree.Issues {
		if strings.Contains(is.Message, "the input changed while it was scanned") {
			return true
		}
	}
	return false
}

// decodeResult is the report of a result from a worker.
func decodeResult(r pipeline.Result) (*reports.Report, error) {
	js := r.JSON
	if js == nil && r.JSONFile != "" {
		var err error
		if js, err = os.ReadFile(r.JSONFile); err != nil {
			return nil, err
		}
	}
	return reports.DecodeJSON(js)
}

// rewriteMark names the inputs rewriteHook rewrites once they are read.
const rewriteMark = "rewritten-while-scanned"

// rewriteHook rewrites an input named with rewriteMark to other bytes of
// the same size: a file written to while its build is scanned.
func rewriteHook(path string) {
	if !strings.Contains(filepath.Base(path), rewriteMark) {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	for i := range b {
		b[i] ^= 0x20
	}
	time.Sleep(20 * time.Millisecond) // past the file system's clock tick
	_ = os.WriteFile(path, b, 0o644)
}

// digestsOf is the MD5, SHA-1 and SHA-256 of b in hex.
func digestsOf(b []byte) (string, string, string) {
	m, s1, s256 := md5.Sum(b), sha1.Sum(b), sha256.Sum256(b)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:])
}

// TestGroupVouchesForLargeInputs: an input of vouchAbove bytes or more gets
// its SHA-1 made in the read that makes its key, with the stamp of
// the file that is read first (two copies of it are one build); a smaller
// one gets none.
func TestGroupVouchesForLargeInputs(t *testing.T) {
	defer pipeline.SetVouchAbove(64 << 10)()
	dir := t.TempDir()
	big := []byte(strings.Repeat("large input ", 230000)) // 2,760,000 bytes: two 1 MiB chunks and a short one
	for _, name := range []string{"a-big.bin", "b-copy.bin"} {
		if err := os.WriteFile(filepath.Join(dir, name), big, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "c-small.bin"), big[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	builds := groupDir(t, dir, 2)
	_, s1, s256 := digestsOf(big)
	b := builds[0]
	if b.Key != s256 || len(b.Inputs) != 2 || b.Vouched == nil || b.Vouched.SHA1 != s1 {
		t.Fatalf("large input: key %s, %d inputs, vouched %+v; want %s %s", b.Key, len(b.Inputs), b.Vouched, s256, s1)
	}
	fi, err := os.Stat(b.Inputs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if b.Vouched.Stamp.Ino != uint64(st.Ino) || b.Vouched.Stamp.Size != int64(len(big)) || b.Vouched.Stamp.ModNs != fi.ModTime().UnixNano() {
		t.Fatalf("stamp %+v, first input %s ino %d", b.Vouched.Stamp, b.Inputs[0].Path, st.Ino)
	}
	if builds[1].Vouched != nil {
		t.Fatalf("small input vouched: %+v", builds[1].Vouched)
	}
}

// TestVouchedDigestsAreTaken: a build whose input still has the stamp Group
// saw takes the SHA-1 Group made, without hashing the input again (a
// vouched SHA-1 that is not the bytes' shows it was taken), and makes the
// MD5; one whose
// input's stamp differs is hashed as before and gets the bytes' digests. One
// written to once it is read: read in place (spilled), it keeps its key,
// loses the MD5 and SHA-1 it can no longer vouch for, and gets an issue;
// read into memory, the bytes held are hashed. In process and in a worker,
// with and without lanes, the input in memory and in a file.
func TestVouchedDigestsAreTaken(t *testing.T) {
	defer pipeline.SetVouchAbove(64 << 10)()
	pipeline.SetAfterReadHook(rewriteHook)
	defer pipeline.SetAfterReadHook(nil)
	const taken = "0000000000000000000000000000000000000000"
	for _, c := range []struct {
		name     string
		isolate  bool
		cores    int
		inMemory int64
	}{{"in process", false, 1, 16 << 20}, {"in process, lanes, spilled", false, 2, 1 << 10}, {"worker, spilled", true, 1, 1 << 10}, {"worker, lanes", true, 2, 16 << 20}} {
		dir := t.TempDir()
		data := []byte(strings.Repeat("tomscan vouched input ", 20000))
		for _, name := range []string{"a-vouched.bin", "b-restamped.bin", "c-" + rewriteMark + ".bin"} {
			if err := os.WriteFile(filepath.Join(dir, name), append([]byte(name), data...), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		builds := groupDir(t, dir, 3)
		for _, b := range builds {
			if b.Vouched == nil {
				t.Fatalf("%s: not vouched", b.Inputs[0].Path)
			}
		}
		builds[0].Vouched.SHA1 = taken
		builds[1].Vouched.SHA1 = taken
		builds[1].Vouched.Stamp.ModNs++ // as if touched after Group
		cfg := pipelinetest.Config(t)
		cfg.Limits.InMemoryBytes = c.inMemory
		if c.isolate {
			cfg = isolated(t, cfg, 2<<30)
		}
		cfg.Jobs, cfg.Cores = 1, c.cores
		seen := 0
		err := pipeline.Run(context.Background(), cfg, builds, func(r pipeline.Result) {
			seen++
			rep := reportOf(t, r)
			changed := inputChanged(rep)
			name := filepath.Base(r.Build.Inputs[0].Path)
			m, s1, s256 := digestsOf(append([]byte(name), data...))
			got := [4]string{rep.Tree.MD5, rep.Tree.SHA1, rep.Tree.SHA256, rep.Build.SHA1}
			var want [4]string
			switch {
			case strings.HasPrefix(name, "a-"):
				want = [4]string{m, taken, s256, taken}
			case strings.HasPrefix(name, "b-"):
				want = [4]string{m, s1, s256, s1}
			case c.inMemory > int64(len(data)):
				// Read before it was rewritten: the bytes held are hashed.
				want = [4]string{m, s1, s256, s1}
			default:
				want = [4]string{"", "", s256, ""}
			}
			wantChanged := strings.HasPrefix(name, "c-") && c.inMemory < int64(len(data))
			if got != want || changed != wantChanged {
				t.Errorf("%s: %s: digests %q, want %q; changed %v (issues %+v)", c.name, name, got, want, changed, rep.Tree.Issues)
			}
		})
		if err != nil || seen != 3 {
			t.Fatalf("%s: %d results, %v", c.name, seen, err)
		}
	}
}

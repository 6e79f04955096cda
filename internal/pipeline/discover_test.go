package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func reasons(sk []Skipped) map[string]string {
	m := map[string]string{}
	for _, s := range sk {
		m[filepath.Base(s.Path)] = s.Reason
	}
	return m
}

// TestDiscoverOnlyRegularFiles: links, FIFOs, sockets and devices are
// listed as skipped with their reason, never returned as inputs; the
// excluded folder (the --out archive) is not walked.
func TestDiscoverOnlyRegularFiles(t *testing.T) {
	root := t.TempDir()
	in := filepath.Join(root, "in")
	write(t, filepath.Join(in, "a.exe"), "a")
	write(t, filepath.Join(in, "sub", "b.exe"), "b")
	write(t, filepath.Join(in, "out", "builds", "x", "report.json"), "{}")
	if err := os.Symlink("/etc/passwd", filepath.Join(in, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(in, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(in, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	inputs, skipped, err := Discover([]string{in, "/dev/zero", filepath.Join(in, "fifo")}, DiscoverOptions{Exclude: filepath.Join(in, "out")})
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, i := range inputs {
		refs = append(refs, i.Ref)
	}
	if strings.Join(refs, " ") != "in/a.exe in/sub/b.exe" {
		t.Errorf("inputs %v", refs)
	}
	r := reasons(skipped)
	for name, want := range map[string]string{
		"link": "symbolic link", "fifo": "named pipe", "sock": "socket", "zero": "character device", "out": "--out archive",
	} {
		if !strings.Contains(r[name], want) {
			t.Errorf("%s: skipped as %q, want %q", name, r[name], want)
		}
	}
	if len(skipped) != 6 { // the FIFO twice: found in the folder and named
		t.Errorf("skipped %v", skipped)
	}
	if _, _, err := Discover([]string{filepath.Join(root, "missing")}, DiscoverOptions{}); err == nil {
		t.Error("a missing named path is not an error")
	}
}

// TestOpenRegularNeverBlocks: a path that became a FIFO after discovery is
// refused at once, not waited on.
func TestOpenRegularNeverBlocks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := openRegular(p)
		if f != nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("openRegular(fifo) = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("openRegular blocked on a FIFO")
	}
}

// TestGroupSkipsOwnOutputAndUnreadable: tomscan's reports (by name and by
// how tomscan starts them) and files gone since discovery are skipped with a
// reason; a file merely named like a report is a build.
func TestGroupSkipsOwnOutputAndUnreadable(t *testing.T) {
	dir := t.TempDir()
	own := map[string]string{
		"report.json":  "{\n  \"schema_version\": \"1.0.0\",\n  \"tool\": {\n    \"name\": \"tomscan\",\n",
		"report.md":    "# tomscan report: x\n",
		"report.html":  "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>tomscan: x</title>\n",
		"index.html":   "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>tomscan archive: 3 builds</title>\n",
		"index.sqlite": "SQLite format 3\x00...",
	}
	var inputs []Input
	for name, body := range own {
		p := filepath.Join(dir, "arch", name)
		write(t, p, body)
		inputs = append(inputs, Input{Path: p, Ref: "arch/" + name})
	}
	// not tomscan's: another tool's report.json, a tomscan-looking file under another name
	write(t, filepath.Join(dir, "other", "report.json"), `{"schema_version": "2", "tool": {"name": "other"}}`)
	write(t, filepath.Join(dir, "other", "renamed.json"), own["report.json"])
	inputs = append(inputs,
		Input{Path: filepath.Join(dir, "other", "report.json"), Ref: "other/report.json"},
		Input{Path: filepath.Join(dir, "other", "renamed.json"), Ref: "other/renamed.json"},
		Input{Path: filepath.Join(dir, "gone.exe"), Ref: "gone.exe"})
	builds, skipped, err := Group(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 2 {
		t.Errorf("%d builds, want 2 (the other tool's report.json and renamed.json)", len(builds))
	}
	r := reasons(skipped)
	for name := range own {
		if !strings.Contains(r[name], "tomscan report") {
			t.Errorf("%s: %q, want skipped as tomscan's own output", name, r[name])
		}
	}
	if !strings.Contains(r["gone.exe"], "cannot be read: no such file") {
		t.Errorf("gone.exe: %q", r["gone.exe"])
	}
}

// TestGroupHonoursCancellation: hashing a large input stops when the run is
// interrupted.
func TestGroupHonoursCancellation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 30); err != nil { // sparse: minutes to hash
		t.Fatal(err)
	}
	f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, _, err = Group(ctx, []Input{{Path: p, Ref: "big.bin"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Group = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled hashing took %s", d)
	}
}

// TestScratchFailureIsNotTheBuilds: when the scratch folder cannot be made
// the result is an environment error without a report, never a failed report
// that would replace a good one in the archive.
func TestScratchFailureIsNotTheBuilds(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.txt")
	write(t, p, "hello")
	builds, _, err := Group(context.Background(), []Input{{Path: p, Ref: "a.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Jobs: 1, Limits: limits.Default(), Engine: unpack.New(nil, unpack.Tools{}), ScratchDir: filepath.Join(t.TempDir(), "gone", "away")}
	var got []Result
	if err := Run(context.Background(), cfg, builds, func(r Result) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Err == nil || got[0].Report != nil {
		t.Fatalf("results %+v, want one environment error and no report", got)
	}
}

// vanishingScratch is a test extractor for inputs starting "SPILL": it
// removes the scratch folder's parent (a temp cleaner, a lost mount) and then
// needs the scratch folder, which is made at that first use.
type vanishingScratch struct{ parent string }

func (vanishingScratch) Name() string { return "spill" }
func (vanishingScratch) Match(head []byte, _ int64) bool {
	return strings.HasPrefix(string(head), "SPILL")
}
func (x vanishingScratch) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	if err := os.RemoveAll(x.parent); err != nil {
		return err
	}
	_, err := in.Scratch.WriteTemp("in", strings.NewReader("x"))
	return err
}

// TestLateScratchFailureIsNotTheBuilds: the scratch folder is made at the
// first spill, not at the start of the build; failing then is still the
// machine's failure: an environment error and no report, as when it fails
// at the start (TestScratchFailureIsNotTheBuilds), though the extractor saw
// the error on its node.
func TestLateScratchFailureIsNotTheBuilds(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.bin")
	write(t, p, "SPILL me")
	builds, _, err := Group(context.Background(), []Input{{Path: p, Ref: "a.bin"}})
	if err != nil {
		t.Fatal(err)
	}
	parent := filepath.Join(t.TempDir(), "scratch")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Jobs: 1, Limits: limits.Default(), Engine: unpack.New([]unpack.Extractor{vanishingScratch{parent}}, unpack.Tools{}), ScratchDir: parent}
	var got []Result
	if err := Run(context.Background(), cfg, builds, func(r Result) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Err == nil || got[0].Report != nil {
		t.Fatalf("results %+v, want one environment error and no report", got)
	}
	if !strings.Contains(got[0].Err.Error(), "scratch: create") {
		t.Fatalf("error %v, want the scratch folder's", got[0].Err)
	}
}

// TestWorkerScratchFailureIsAnError: in a worker, the same failure is an
// error answer (the parent stops the run), not a report and not a crash.
func TestWorkerScratchFailureIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.txt")
	write(t, p, "hello")
	h, err := WorkerHandler(Config{Limits: limits.Default(), Engine: unpack.New(nil, unpack.Tools{})})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(request{Key: "k", Inputs: []Input{{Path: p, Ref: "a.txt"}}, Size: 5, Scratch: filepath.Join(t.TempDir(), "gone", "away")})
	if ans, err := h(context.Background(), req); err == nil || ans != nil {
		t.Fatalf("answer %q, error %v; want an error", ans, err)
	}
	req, _ = json.Marshal(request{Key: "k", Inputs: []Input{{Path: p, Ref: "a.txt"}}, Size: 5, Scratch: t.TempDir()})
	if ans, err := h(context.Background(), req); err != nil || !strings.Contains(string(ans), `"status": "succeeded"`) {
		t.Fatalf("good request: %v\n%s", err, ans)
	}
}

// TestGroupOrderWithParallelHashing: inputs are hashed on several
// goroutines, yet builds come in order of first appearance, each listing
// its inputs in input order, whatever the sizes (a large file early must
// not let later ones overtake it).
func TestGroupOrderWithParallelHashing(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	dir := t.TempDir()
	var inputs []Input
	keys := map[string]string{} // ref -> sha256 of its bytes
	for i := 0; i < 120; i++ {
		body := strings.Repeat(fmt.Sprintf("content %d\n", i%37), 1+(i%5)*40000) // up to 2.8 MB
		p := filepath.Join(dir, fmt.Sprintf("in-%03d.bin", i))
		write(t, p, body)
		sum := sha256.Sum256([]byte(body))
		keys[fmt.Sprintf("in-%03d.bin", i)] = hex.EncodeToString(sum[:])
		inputs = append(inputs, Input{Path: p, Ref: fmt.Sprintf("in-%03d.bin", i)})
	}
	builds, skipped, err := Group(context.Background(), inputs)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("Group: %v, skipped %v", err, skipped)
	}
	// the same content (i % 37 and i % 5 equal) is one build
	seen := map[string]int{}
	var want []string
	for i := range inputs {
		id := fmt.Sprintf("%d/%d", i%37, i%5)
		if _, ok := seen[id]; !ok {
			seen[id] = len(want)
			want = append(want, inputs[i].Ref)
		}
	}
	if len(builds) != len(want) {
		t.Fatalf("%d builds, want %d", len(builds), len(want))
	}
	for j, b := range builds {
		if b.Inputs[0].Ref != want[j] {
			t.Errorf("build %d starts with %s, want %s", j, b.Inputs[0].Ref, want[j])
		}
		for _, in := range b.Inputs {
			if keys[in.Ref] != b.Key {
				t.Errorf("%s is in build %s, its sha256 is %s", in.Ref, b.Key, keys[in.Ref])
			}
		}
		for k := 1; k < len(b.Inputs); k++ {
			if b.Inputs[k-1].Ref >= b.Inputs[k].Ref {
				t.Errorf("build %d inputs out of order: %s before %s", j, b.Inputs[k-1].Ref, b.Inputs[k].Ref)
			}
		}
	}
}

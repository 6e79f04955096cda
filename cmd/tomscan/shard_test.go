package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		i, n uint64
	}{
		{"0/1", true, 0, 1}, {"3/4", true, 3, 4}, {"0/4", true, 0, 4},
		{"4/4", false, 0, 0}, {"5/4", false, 0, 0}, {"0/0", false, 0, 0}, {"a/b", false, 0, 0},
		{"1", false, 0, 0}, {"-1/4", false, 0, 0}, {"1/4/2", false, 0, 0}, {" 1/4", false, 0, 0},
	} {
		s, err := parseShard(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("parseShard(%q) err = %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (s.i != tc.i || s.n != tc.n) {
			t.Errorf("parseShard(%q) = %d/%d", tc.in, s.i, s.n)
		}
	}
	if s, _ := parseShard(""); s != nil {
		t.Errorf("parseShard(\"\") = %v, want no sharding", s)
	}
	// the shard of a key is its first 8 bytes mod n: fixed values, so the
	// assignment never changes between tomscan versions or machines
	s := &shard{n: 4}
	for key, want := range map[string]uint64{
		"0000000000000003ffffffffffffffffffffffffffffffffffffffffffffffff":            3,
		"ffffffffffffffff000000000000000000000000000000000000000000000000":            3,
		"0000000000000004000000000000000000000000000000000000000000000000":            0,
		"unreadable-0000000000000006000000000000000000000000000000000000000000000000": 2,
	} {
		if got := s.of(key); got != want {
			t.Errorf("shard of %s = %d, want %d", key, got, want)
		}
	}
}

// archiveFiles maps every file under dir (relative, slash-separated) to its
// bytes.
func archiveFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// sameArchive fails unless a and b hold the same files with the same bytes.
func sameArchive(t *testing.T, what string, a, b map[string][]byte) {
	t.Helper()
	var names []string
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	bad := 0
	for _, n := range names {
		x, okx := a[n]
		y, oky := b[n]
		switch {
		case !okx || !oky:
			t.Errorf("%s: %s only in one archive (first: %v)", what, n, okx)
			bad++
		case !bytes.Equal(x, y):
			t.Errorf("%s: %s differs (%d vs %d bytes)", what, n, len(x), len(y))
			bad++
		}
		if bad > 10 {
			t.Fatalf("%s: too many differences", what)
		}
	}
}

// TestShardsMergeEqualsOneScan is the sharding contract, with the real
// binary: four `scan --shard i/4` processes (run at once, given the inputs
// in another order than the single scan) and a `merge` make an archive
// byte-identical to one scan of the same inputs, every file: reports, pages,
// index.sqlite, index.html. A subset of the corpus (every fourth build) keeps
// it well under a minute. Then a rescan of the unchanged inputs reuses every
// build (and leaves every byte as it was), --ndjson says so, and --rescan
// scans them all again, to the same bytes.
func TestShardsMergeEqualsOneScan(t *testing.T) {
	inputs, kw := everyFourthBuild(t, 0)
	bin := buildBinary(t)
	work := t.TempDir()
	scan := func(out string, files []string, extra ...string) (string, string, error) {
		args := append([]string{"scan", "--out", out, "--jobs", "1", "--keyword-lists", kw}, extra...)
		args = append(args, files...)
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	single := filepath.Join(work, "single")
	if _, errOut, err := scan(single, inputs); err != nil {
		t.Fatalf("single scan: %v\n%s", err, errOut)
	}
	reversed := append([]string(nil), inputs...)
	sort.Sort(sort.Reverse(sort.StringSlice(reversed)))
	var wg sync.WaitGroup
	shards := make([]string, 4)
	errs := make([]error, 4)
	total := 0
	var mu sync.Mutex
	for i := range shards {
		shards[i] = filepath.Join(work, "shard-"+string(rune('0'+i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errOut, err := scan(shards[i], reversed, "--shard", string(rune('0'+i))+"/4")
			if err != nil {
				errs[i] = err
				t.Errorf("shard %d: %v\n%s", i, err, errOut)
			}
			n, _ := filepath.Glob(filepath.Join(shards[i], "builds", "*", "report.json"))
			mu.Lock()
			total += len(n)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if total != len(inputs) {
		t.Fatalf("the shards hold %d builds, the inputs are %d: a build in no shard or in two", total, len(inputs))
	}
	merged := filepath.Join(work, "merged")
	// the shards in another order than their numbers: order must not matter
	out, err := exec.Command(bin, "merge", merged, shards[2], shards[0], shards[3], shards[1]).CombinedOutput()
	if err != nil {
		t.Fatalf("merge: %v\n%s", err, out)
	}
	want := archiveFiles(t, single)
	if _, ok := want["index.sqlite"]; !ok {
		t.Fatal("the single scan wrote no index.sqlite")
	}
	sameArchive(t, "merged shards vs one scan", want, archiveFiles(t, merged))

	// unchanged inputs: every build reused, nothing rewritten
	stdout, errOut, err := scan(single, inputs, "--ndjson")
	if err != nil {
		t.Fatalf("rescan: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, " 0 failed, "+itoa(len(inputs))+" reused;") {
		t.Errorf("rescan summary does not say every build was reused: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(inputs) {
		t.Errorf("rescan --ndjson printed %d lines, want %d", len(lines), len(inputs))
	}
	for _, l := range lines {
		var rec struct {
			SHA256 string `json:"sha256"`
			Reused bool   `json:"reused"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil || !rec.Reused || rec.SHA256 == "" {
			t.Errorf("rescan --ndjson line is not a reused record: %s (%v)", l, err)
		}
	}
	sameArchive(t, "archive after a rescan that reused everything", want, archiveFiles(t, single))

	// --rescan scans everything again; the reports come out the same
	_, errOut, err = scan(single, inputs, "--rescan")
	if err != nil {
		t.Fatalf("--rescan: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, " 0 reused;") {
		t.Errorf("--rescan reused builds: %s", errOut)
	}
	sameArchive(t, "archive after --rescan", want, archiveFiles(t, single))
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestWorkersPrepareWhatTheParentWould: builds scanned by worker processes
// reach the archive prepared there (pages and index rows made where the
// report is, archive.Prepare); --in-process scans render them in the
// parent from the report. Both give the same archive, every file, and the
// same --ndjson lines, with every page format and with report.md left by
// an earlier run that a later html-only scan must link.
func TestWorkersPrepareWhatTheParentWould(t *testing.T) {
	inputs, kw := everyFourthBuild(t, 3)
	bin := buildBinary(t)
	work := t.TempDir()
	scan := func(out string, extra ...string) []string {
		args := append([]string{"scan", "--out", out, "--keyword-lists", kw, "--ndjson"}, extra...)
		code, stdout, stderr := runTool(t, bin, append(args, inputs...)...)
		if code != 0 && code != 1 {
			t.Fatalf("scan %v: exit %d\n%s", extra, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		sort.Strings(lines)
		return lines
	}
	for _, steps := range [][][]string{
		{{"--format", "json,md,html"}},
		{{"--format", "md"}, {"--format", "html", "--rescan"}},
	} {
		isolated, inProcess := filepath.Join(work, "isolated"), filepath.Join(work, "in-process")
		os.RemoveAll(isolated)
		os.RemoveAll(inProcess)
		for _, step := range steps {
			a := scan(isolated, step...)
			b := scan(inProcess, append([]string{"--in-process"}, step...)...)
			if len(a) != len(inputs) || strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Errorf("%v: --ndjson lines differ between workers and --in-process (%d, %d lines)", step, len(a), len(b))
			}
		}
		sameArchive(t, fmt.Sprintf("workers vs --in-process, %v", steps), archiveFiles(t, inProcess), archiveFiles(t, isolated))
	}
}

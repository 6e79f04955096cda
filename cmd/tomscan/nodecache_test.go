package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestNodeCacheRulesOnlyRescan: a scan with --cache, then a scan with one
// more rule file (rules only changed) replays every build from the cache:
// nothing is unpacked ("unpacked 0 of N nodes, cache hits N") and the
// reports equal, byte for byte, those of the same scan without a cache.
// Then a damaged blob and a damaged tree entry are each ignored with a
// warning and recomputed, and the reports stay the same.
func TestNodeCacheRulesOnlyRescan(t *testing.T) {
	inputs, kw := everyFourthBuild(t, 1)
	bin := buildBinary(t)
	work := t.TempDir()
	extra := rulesFolder(t, filepath.Join(work, "extra"), "rule Extra_DOS_Stub { strings: $a = \"This program\" condition: $a }\n")
	cache := filepath.Join(work, "cache")
	scan := func(out string, extraArgs ...string) string {
		t.Helper()
		args := append([]string{"scan", "--out", out, "--jobs", "2", "--keyword-lists", kw}, extraArgs...)
		cmd := exec.Command(bin, append(args, inputs...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("scan %v: %v\n%s", extraArgs, err, stderr.String())
		}
		return stderr.String()
	}
	stat := regexp.MustCompile(`node cache: unpacked (\d+) of (\d+) nodes, cache hits (\d+)`)
	counts := func(errOut string) (unpacked, nodes, hits int) {
		t.Helper()
		m := stat.FindStringSubmatch(errOut)
		if m == nil {
			t.Fatalf("no node cache line in %q", errOut)
		}
		u, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		h, _ := strconv.Atoi(m[3])
		return u, n, h
	}
	if u, n, h := counts(scan(filepath.Join(work, "first"), "--cache", cache)); u != n || h != 0 || n < len(inputs) {
		t.Fatalf("first scan: unpacked %d of %d, hits %d", u, n, h)
	}
	fresh := filepath.Join(work, "fresh")
	scan(fresh, "--rules", extra)
	want := archiveFiles(t, fresh)

	cached := filepath.Join(work, "cached")
	u, n, h := counts(scan(cached, "--rules", extra, "--cache", cache))
	if u != 0 || h != n {
		t.Errorf("rules-only rescan: unpacked %d of %d nodes, cache hits %d: want nothing unpacked", u, n, h)
	}
	sameArchive(t, "rules-only rescan from the cache vs a scan without cache", want, archiveFiles(t, cached))
	if bytes.Equal(want["index.sqlite"], archiveFiles(t, filepath.Join(work, "first"))["index.sqlite"]) {
		t.Fatal("the extra rule changed nothing: the test proves nothing")
	}

	// damage one blob and one tree entry: each is a warning and a miss
	blobs, _ := filepath.Glob(filepath.Join(cache, "blobs", "*", "*"))
	trees, _ := filepath.Glob(filepath.Join(cache, "trees", "*", "*"))
	if len(blobs) == 0 || len(trees) < 2 {
		t.Fatalf("cache holds %d blobs, %d trees", len(blobs), len(trees))
	}
	b, _ := os.ReadFile(blobs[0])
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(blobs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	// a build's tree, which the rescan reads (trees/ also holds the memos
	// of key searches, snapshot comparisons and TOM results, which a
	// rescan whose rule matches more does not look up)
	damaged := ""
	for _, p := range trees {
		tr, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, payload, ok := bytes.Cut(tr, []byte("\n")); ok && bytes.HasPrefix(payload, []byte(`{"order":`)) {
			if err := os.WriteFile(p, tr[:len(tr)-10], 0o600); err != nil {
				t.Fatal(err)
			}
			damaged = p
			break
		}
	}
	if damaged == "" {
		t.Fatal("no build tree among the cache's tree entries")
	}
	again := filepath.Join(work, "again")
	errOut := scan(again, "--rules", extra, "--cache", cache)
	if c := len(regexp.MustCompile(`warning: node cache: .*(blob does not match its checksum|tree entry does not match its checksum)`).FindAllString(errOut, -1)); c != 2 {
		t.Errorf("%d warnings about the damaged entries, want 2:\n%s", c, errOut)
	}
	if u, _, _ := counts(errOut); u == 0 {
		t.Error("damaged entries were not recomputed")
	}
	sameArchive(t, "rescan over a damaged cache vs a scan without cache", want, archiveFiles(t, again))
}

// TestNodeCacheTrimmedOnlyAfterScanning: the end of a run trims the cache
// (here: removes a temp file a killed writer left hours ago) when the run
// scanned builds, and leaves the folder alone when it reused every build.
func TestNodeCacheTrimmedOnlyAfterScanning(t *testing.T) {
	inputs, kw := everyFourthBuild(t, 1)
	inputs = inputs[:2]
	bin := buildBinary(t)
	work := t.TempDir()
	out, cache := filepath.Join(work, "out"), filepath.Join(work, "cache")
	scan := func(extra ...string) {
		t.Helper()
		args := append([]string{"scan", "--out", out, "--cache", cache, "--keyword-lists", kw}, extra...)
		if b, err := exec.Command(bin, append(args, inputs...)...).CombinedOutput(); err != nil {
			t.Fatalf("scan %v: %v\n%s", extra, err, b)
		}
	}
	scan()
	stale := filepath.Join(cache, "blobs", ".tmp-left-by-a-killed-writer")
	plant := func() {
		t.Helper()
		if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-3 * time.Hour)
		if err := os.Chtimes(stale, old, old); err != nil {
			t.Fatal(err)
		}
	}
	plant()
	scan() // every build reused
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("a run that scanned nothing walked the cache: %v", err)
	}
	scan("--rescan")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("a run that scanned builds did not trim the cache: %v", err)
	}
}

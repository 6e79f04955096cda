package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tomscan/tomscan/corpus/hostile"
	"github.com/tomscan/tomscan/reports/archive"
)

var (
	sharedBinOnce sync.Once
	sharedBinPath string
	sharedBinErr  error
)

// sharedBinary builds tomscan once for the tests of this file.
func sharedBinary(t *testing.T) string {
	t.Helper()
	sharedBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tomscan-e2e-bin-")
		if err != nil {
			sharedBinErr = err
			return
		}
		sharedBinPath = filepath.Join(dir, "tomscan")
		out, err := exec.Command("go", "build", "-o", sharedBinPath, ".").CombinedOutput()
		if err != nil {
			sharedBinErr = errors.New(string(out))
		}
	})
	if sharedBinErr != nil {
		t.Fatalf("go build: %v", sharedBinErr)
	}
	return sharedBinPath
}

func corpusBuilds(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS not set (make corpus)")
	}
	return filepath.Join(dir, "builds")
}

// treeDigest maps every file under dir (relative path) to its sha256,
// leaving out the names skip says.
func treeDigest(t *testing.T, dir string, skip func(rel string) bool) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if skip != nil && skip(rel) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		// index.sqlite too, byte for byte: upserted in the order builds
		// finished, it is rewritten in canonical order at the end of a run
		// (archive.Canonicalize).
		sum := sha256.Sum256(b)
		got[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// indexRows is every row of every table of an index, sorted: the index's
// content whatever order its rows went in (said in a failure, to tell a
// difference in rows from one in bytes).
func indexRows(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	var out []string
	for _, n := range names {
		rows, err := db.Query(`SELECT * FROM "` + n + `"`)
		if err != nil {
			t.Fatalf("%s: %s: %v", path, n, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, n+"\x00"+fmt.Sprint(vals...))
		}
		rows.Close()
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// indexBuilds counts the builds an index holds.
func indexBuilds(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM builds").Scan(&n); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

func sameTree(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s differs or is missing", what, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s is extra", what, k)
		}
	}
}

var (
	refMu       sync.Mutex
	refArchive  map[string]string
	refUnlinked map[string]string // report.html digests without the archive links (pageSansLinks)
	refTime     time.Duration     // how long the reference scan took
)

// referenceArchive is an uninterrupted scan of the corpus (made once).
func referenceArchive(t *testing.T, bin, in string) map[string]string {
	t.Helper()
	refMu.Lock()
	defer refMu.Unlock()
	if refArchive == nil {
		out := filepath.Join(t.TempDir(), "ref")
		begin := time.Now()
		if code, _, stderr := runTool(t, bin, "scan", in, "--out", out, "--jobs", "2", "--quiet"); code != exitOK {
			t.Fatalf("reference scan: exit %d: %s", code, stderr)
		}
		refTime = time.Since(begin)
		refArchive = treeDigest(t, out, nil)
		refUnlinked = pageDigests(t, out)
	}
	return refArchive
}

// linksNav is the line of a build page that links the index, the build's
// other files and its previous/next build: it depends on which other builds
// the archive holds, not on the build.
var linksNav = regexp.MustCompile(`(?m)^<nav class="links" id="links">.*</nav>$`)

// pageDigests digests every build page with its links line blanked out.
func pageDigests(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != archive.ReportHTML {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if linksNav.FindIndex(b) == nil {
			t.Fatalf("%s: no links line (%s)", rel, linksNav)
		}
		sum := sha256.Sum256(linksNav.ReplaceAll(b, nil))
		got[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// startScan starts a scan and returns it running, with its stderr.
func startScan(t *testing.T, bin string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"scan"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// waitReports waits until n reports are in out's archive.
func waitReports(t *testing.T, out string, n int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, _ := filepath.Glob(filepath.Join(out, "builds", "*", "report.json")); len(got) >= n {
			return
		}
	}
	t.Fatalf("fewer than %d reports after 2 minutes", n)
}

// processesOf lists live processes running the program at bin.
func processesOf(bin string) []int {
	var pids []int
	des, _ := os.ReadDir("/proc")
	for _, de := range des {
		pid, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink("/proc/" + de.Name() + "/exe"); err == nil && exe == bin {
			if st, err := os.ReadFile("/proc/" + de.Name() + "/stat"); err == nil && !bytes.Contains(st, []byte(") Z ")) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func waitNoProcesses(t *testing.T, bin string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if len(processesOf(bin)) == 0 {
			return
		}
	}
	t.Errorf("tomscan processes left: %v", processesOf(bin))
}

// TestKill9ThenRerun: tomscan killed with SIGKILL in the middle of a scan
// leaves its lock, temp files and scratch folder; the rerun removes exactly
// those (and nothing else), and the archive it ends with equals an
// uninterrupted scan's. No worker or tool outlives the killed run.
func TestKill9ThenRerun(t *testing.T) {
	bin := sharedBinary(t)
	in := corpusBuilds(t)
	want := referenceArchive(t, bin, in)
	work := t.TempDir()
	out, scr := filepath.Join(work, "out"), filepath.Join(work, "scratch")
	if err := os.MkdirAll(scr, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{in, "--out", out, "--scratch", scr, "--jobs", "2", "--quiet"}
	cmd, _ := startScan(t, bin, args...)
	waitReports(t, out, 5)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitNoProcesses(t, bin)

	// What a kill at a worse moment leaves, planted so that the sweep is
	// tested every time; and things that are not tomscan's to remove.
	keys, _ := filepath.Glob(filepath.Join(out, "builds", "*"))
	plant := map[string]bool{
		filepath.Join(keys[0], ".tmp-report.json-4242"):   false, // swept
		filepath.Join(out, ".tmp-index.sqlite-4242"):      false,
		filepath.Join(out, "notes.txt"):                   true, // kept
		filepath.Join(keys[0], ".tmp-other"):              true,
		filepath.Join(scr, "tomscan-build-not-ours", "x"): true,
	}
	for p := range plant {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runs, _ := filepath.Glob(filepath.Join(scr, "tomscan-run-*"))
	if len(runs) != 1 {
		t.Fatalf("scratch after kill -9: %v, want the dead run's folder", runs)
	}
	if _, err := os.Stat(filepath.Join(out, archiveLock)); err != nil {
		t.Fatalf("no lock left by the killed run: %v", err)
	}

	code, _, stderr := runTool(t, bin, append([]string{"scan"}, args...)...)
	if code != exitOK {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}
	for p, kept := range plant {
		if _, err := os.Stat(p); (err == nil) != kept {
			t.Errorf("%s: kept %v, want %v", p, err == nil, kept)
		}
	}
	if !strings.Contains(stderr, "removed scratch folder "+runs[0]) || !strings.Contains(stderr, ".tmp-index.sqlite-4242") {
		t.Errorf("the rerun does not say what it removed: %s", stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(scr, "tomscan-run-*")); len(left) != 0 {
		t.Errorf("scratch folders left: %v", left)
	}
	sameTree(t, "archive after kill -9 and rerun", want, treeDigest(t, out, func(rel string) bool {
		return rel == "notes.txt" || strings.HasSuffix(rel, ".tmp-other")
	}))
	waitNoProcesses(t, bin)
}

// TestKill9AtRandomPoints: the scan of the corpus (61 builds) killed with
// SIGKILL at 3 random moments (start-up, scanning and the index flush are
// all fair), each kill followed by a rerun that is itself the next one
// killed, then a last rerun: the archive equals the uninterrupted scan's
// byte for byte (reports, pages, index.html, index.sqlite), nothing is left
// in scratch and no process survives. The moments are random each run; a
// failure names its seed (TOMSCAN_KILL_SEED reruns it). The full campaign,
// 10 kills of a 2,000-build scan, is `make stress-kill`.
func TestKill9AtRandomPoints(t *testing.T) {
	bin := sharedBinary(t)
	in := corpusBuilds(t)
	want := referenceArchive(t, bin, in)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TOMSCAN_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("TOMSCAN_KILL_SEED: %v", err)
		}
	}
	inputs, _ := os.ReadDir(in)
	var log bytes.Buffer
	work := t.TempDir()
	res, err := hostile.RunKill(context.Background(), hostile.KillOptions{Tomscan: bin, In: in, N: len(inputs), Points: 3,
		Reference: want, RefTime: refTime, RefCode: exitOK, Seed: seed, Work: work, Jobs: 2, Timeout: 5 * time.Minute, Log: &log})
	if err != nil {
		t.Fatalf("seed %d: %v\n%s", seed, err, log.String())
	}
	t.Logf("\n%s", res)
	if res.Failed() {
		t.Errorf("seed %d (TOMSCAN_KILL_SEED=%d reruns it): the archive after kills and reruns is not the uninterrupted one:\n%s\n%s", seed, seed, res, log.String())
		if slices.Contains(res.Mismatches, archive.IndexDB+": differs") {
			ref := filepath.Join(t.TempDir(), "ref")
			if code, _, stderr := runTool(t, bin, "scan", in, "--out", ref, "--jobs", "2", "--quiet"); code != exitOK {
				t.Fatalf("reference scan: exit %d: %s", code, stderr)
			}
			same := indexRows(t, filepath.Join(ref, archive.IndexDB)) == indexRows(t, filepath.Join(work, "out", archive.IndexDB))
			t.Errorf("index.sqlite differs in bytes; its rows are the same: %v", same)
		}
	}
}

// TestSIGTERMInterrupts: SIGTERM stops the scan: exit 3; the builds in
// flight are not archived and none is called a timeout; the index covers
// what finished; the rerun scans the rest and ends with the uninterrupted
// archive.
func TestSIGTERMInterrupts(t *testing.T) {
	bin := sharedBinary(t)
	in := corpusBuilds(t)
	want := referenceArchive(t, bin, in)
	out := filepath.Join(t.TempDir(), "out")
	cmd, stderr := startScan(t, bin, in, "--out", out, "--jobs", "2")
	waitReports(t, out, 3)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitRuntime {
		t.Fatalf("after SIGTERM: %v, want exit %d\n%s", err, exitRuntime, stderr)
	}
	m := regexp.MustCompile(`interrupted: (\d+) builds archived, (\d+) in flight not archived, (\d+) not started`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no interruption summary: %s", stderr)
	}
	reportsOnDisk, _ := filepath.Glob(filepath.Join(out, "builds", "*", "report.json"))
	if archived, _ := strconv.Atoi(m[1]); archived != len(reportsOnDisk) || archived == 48 {
		t.Errorf("summary says %s archived, %d reports on disk (of 48)", m[1], len(reportsOnDisk))
	}
	for _, r := range reportsOnDisk {
		b, _ := os.ReadFile(r)
		if bytes.Contains(b, []byte("build timeout")) {
			t.Errorf("%s: an interrupted build reported as a timeout", r)
		}
		if want[strings.TrimPrefix(r, out+"/")] == "" {
			t.Errorf("%s: not a report of the uninterrupted scan", r)
		}
	}
	code, stdout, _ := runTool(t, bin, "query", "--out", out, "--sql", "SELECT count(*) AS n FROM builds")
	if code != exitOK || !strings.Contains(stdout, "\n"+strconv.Itoa(len(reportsOnDisk))+"\n") {
		t.Errorf("index after the interruption: exit %d: %q, want %d builds", code, stdout, len(reportsOnDisk))
	}
	if _, err := os.Stat(filepath.Join(out, archiveLock)); !os.IsNotExist(err) {
		t.Errorf("lock left after an orderly interruption: %v", err)
	}
	if code, _, stderr := runTool(t, bin, "scan", in, "--out", out, "--jobs", "2", "--quiet"); code != exitOK {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}
	sameTree(t, "archive after SIGTERM and rerun", want, treeDigest(t, out, nil))
	waitNoProcesses(t, bin)
}

// TestInputsOnlyRegularFiles: FIFOs, devices, sockets and symbolic links are
// skipped and listed, never read (a FIFO or /dev/zero named directly does not
// hang); tomscan's own reports and the --out folder under an input are
// skipped; names are escaped on the terminal; no scannable input is exit 2.
func TestInputsOnlyRegularFiles(t *testing.T) {
	bin := sharedBinary(t)
	work := t.TempDir()
	in := filepath.Join(work, "in")
	os.MkdirAll(in, 0o755)
	os.WriteFile(filepath.Join(in, "good.txt"), []byte("an ordinary file\n"), 0o644)
	// not a tomscan report, whatever its name
	os.WriteFile(filepath.Join(in, "report.json"), []byte(`{"schema_version": "1", "tool": {"name": "other"}}`), 0o644)
	fifo := filepath.Join(in, "pipe\x1b[2Jfifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(in, "link\x1b]0;title\a")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(in, "archive") // the archive lies under the input

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	scan := func(args ...string) (int, string) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"scan", "--quiet"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ctx.Err() != nil {
			t.Fatalf("scan %v hung", args)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), stderr.String()
		}
		return 0, stderr.String()
	}
	code, stderr := scan(in, fifo, "/dev/zero", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.ContainsAny(stderr, "\x1b\a") {
		t.Errorf("raw control characters on the terminal: %q", stderr)
	}
	for _, want := range []string{
		`pipe\x1b[2Jfifo: named pipe (FIFO)`, `/dev/zero: character device`, `link\x1b]0;title\a: symbolic link`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if keys, _ := filepath.Glob(filepath.Join(out, "builds", "*")); len(keys) != 2 {
		t.Errorf("%d builds archived, want 2 (good.txt and the foreign report.json)", len(keys))
	}
	// Second run: the archive is under the input, and a copy of a report
	// sits elsewhere in it: neither is scanned.
	keys, _ := filepath.Glob(filepath.Join(out, "builds", "*"))
	copyDir := filepath.Join(in, "copied")
	os.MkdirAll(copyDir, 0o755)
	for _, f := range []string{"report.json", "report.md", "report.html"} {
		b, _ := os.ReadFile(filepath.Join(keys[0], f))
		os.WriteFile(filepath.Join(copyDir, f), b, 0o644)
	}
	b, _ := os.ReadFile(filepath.Join(out, "index.html"))
	os.WriteFile(filepath.Join(copyDir, "index.html"), b, 0o644)
	code, stderr = scan(in, "--out", out)
	if code != exitOK {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"archive: the --out archive of this scan", "copied/report.json: a tomscan report", "copied/report.md: a tomscan report",
		"copied/report.html: a tomscan report", "copied/index.html: a tomscan report",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("second run: stderr lacks %q:\n%s", want, stderr)
		}
	}
	if keys, _ := filepath.Glob(filepath.Join(out, "builds", "*")); len(keys) != 2 {
		t.Errorf("second run: %d builds, want still 2: tomscan read its own output", len(keys))
	}
	// Third run, with one more rule folder: the inputs are found while the
	// rules compile (the archive exists), and the archive is still left out.
	ruleDir := filepath.Join(work, "rules")
	os.MkdirAll(ruleDir, 0o755)
	os.WriteFile(filepath.Join(ruleDir, "x.yar"), []byte("rule Third_Run { condition: false }\n"), 0o644)
	code, stderr = scan(in, "--out", out, "--rules", ruleDir)
	if code != exitOK {
		t.Fatalf("third run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "archive: the --out archive of this scan") {
		t.Errorf("third run: stderr does not say the archive was left out:\n%s", stderr)
	}
	if keys, _ := filepath.Glob(filepath.Join(out, "builds", "*")); len(keys) != 2 {
		t.Errorf("third run: %d builds, want still 2: tomscan read its own output", len(keys))
	}
	empty := filepath.Join(work, "empty")
	os.MkdirAll(empty, 0o755)
	if code, stderr := scan(empty, "--out", filepath.Join(work, "o2")); code != exitUsage || !strings.Contains(stderr, "no file to scan") {
		t.Errorf("no inputs: exit %d: %s", code, stderr)
	}
	if code, _ := scan("/dev/zero", "--out", filepath.Join(work, "o3")); code != exitUsage {
		t.Errorf("only /dev/zero: exit %d, want %d", code, exitUsage)
	}
}

// TestStartupChecks: a bad environment is found before anything is
// scanned, exit 2 with what to do, and the archive is left as it was.
func TestStartupChecks(t *testing.T) {
	bin := sharedBinary(t)
	work := t.TempDir()
	in := filepath.Join(work, "in")
	os.MkdirAll(in, 0o755)
	os.WriteFile(filepath.Join(in, "a.txt"), []byte("some text\n"), 0o644)
	out := filepath.Join(work, "out")
	if code, _, stderr := runTool(t, bin, "scan", in, "--out", out, "--quiet"); code != exitOK {
		t.Fatalf("first scan: exit %d: %s", code, stderr)
	}
	before := treeDigest(t, out, nil)
	file := filepath.Join(work, "a-file")
	os.WriteFile(file, nil, 0o644)
	noTools := t.TempDir() // a PATH without 7z, innoextract, unshield
	held := filepath.Join(work, "held")
	os.MkdirAll(held, 0o755)
	os.WriteFile(filepath.Join(held, archiveLock), []byte(strconv.Itoa(os.Getpid())+" "+selfStart(t)+"\n"), 0o644)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		says string
	}{
		{"typo scratch", nil, []string{"--out", out, "--scratch", "/typo/dir"}, "--scratch /typo/dir"},
		{"scratch is a file", nil, []string{"--out", out, "--scratch", file}, "--scratch"},
		{"keyword lists missing", nil, []string{"--out", out, "--keyword-lists", "/nonexistent"}, "--keyword-lists /nonexistent"},
		{"keyword lists wrong level", nil, []string{"--out", out, "--keyword-lists", work}, "tom-skype-raw-data"},
		{"out is a file", nil, []string{"--out", filepath.Join(file, "sub")}, "--out"},
		{"out held by a live run", nil, []string{"--out", held}, "wait for that run to end"},
		{"tools missing", []string{"PATH=" + noTools}, []string{"--out", out}, "7z, innoextract, unshield"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"scan", in}, tc.args...)...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
				t.Fatalf("exit %v, want %d: %s", err, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.says) || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Errorf("stderr %q: want one line naming %q", stderr.String(), tc.says)
			}
		})
	}
	sameTree(t, "archive after refused runs", before, treeDigest(t, out, nil))
}

// selfStart is this process's start time as a lock file holds it.
func selfStart(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[19]
}

// TestWriteFailureStopsRun: the archive's disk fills up (a tiny tmpfs)
// during the scan: the run stops at once with exit 3, and every report
// written before is intact.
func TestWriteFailureStopsRun(t *testing.T) {
	bin := sharedBinary(t)
	in := corpusBuilds(t)
	want := referenceArchive(t, bin, in)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s)", err, out)
	}
	defer exec.Command("umount", mnt).Run()
	out := filepath.Join(mnt, "out")
	code, _, stderr := runTool(t, bin, "scan", in, "--out", out, "--jobs", "2", "--quiet")
	if code != exitRuntime || !strings.Contains(stderr, "writing reports failed, the run stopped") || !strings.Contains(stderr, "no space left") {
		t.Fatalf("full disk: exit %d: %s", code, stderr)
	}
	got := treeDigest(t, out, func(rel string) bool { return rel == archiveLock })
	unlinked := pageDigests(t, out)
	if len(got) == 0 || len(got) >= len(want) {
		t.Fatalf("%d files written of %d", len(got), len(want))
	}
	reportsWritten := 0
	for rel := range got {
		if strings.HasSuffix(rel, "report.json") {
			reportsWritten++
		}
	}
	for rel, sum := range got {
		if rel == archive.IndexDB {
			// the index holds exactly the builds whose reports were written
			if n := indexBuilds(t, filepath.Join(out, rel)); n != reportsWritten {
				t.Errorf("index: %d builds, %d reports written", n, reportsWritten)
			}
			continue
		}
		if strings.Contains(rel, ".tmp-") {
			t.Errorf("temp file left: %s", rel)
		} else if filepath.Base(rel) == archive.ReportHTML {
			// a page links the builds archived beside it, fewer here than
			// in the whole scan: all else is intact
			if refUnlinked[rel] != unlinked[rel] {
				t.Errorf("%s: not intact (besides its archive links)", rel)
			}
		} else if want[rel] != sum {
			t.Errorf("%s: not intact", rel)
		}
	}
	// a read-only archive is refused at start-up
	if err := exec.Command("mount", "-o", "remount,ro", mnt).Run(); err == nil {
		if code, _, stderr := runTool(t, bin, "scan", in, "--out", out, "--quiet"); code != exitUsage || !strings.Contains(stderr, "not writable") {
			t.Errorf("read-only --out: exit %d: %s", code, stderr)
		}
	}
}

// TestUnreadableInputsAreListed: run as an unprivileged user, a file and a
// folder it may not read (the folder's name holding an escape sequence) are
// skipped and listed, escaped, and the rest is scanned.
func TestUnreadableInputsAreListed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run tomscan as another user")
	}
	bin := sharedBinary(t)
	base, err := os.MkdirTemp("", "tomscan-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o777)
	prog, _ := os.ReadFile(bin)
	nobodyBin := filepath.Join(base, "tomscan")
	if err := os.WriteFile(nobodyBin, prog, 0o755); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(base, "in")
	locked := filepath.Join(in, "locked\x1b[31mred")
	os.MkdirAll(locked, 0o755)
	os.WriteFile(filepath.Join(in, "good.txt"), []byte("readable\n"), 0o644)
	os.WriteFile(filepath.Join(in, "secret.bin"), []byte("not for you\n"), 0o600)
	os.WriteFile(filepath.Join(locked, "inside.bin"), []byte("x"), 0o644)
	os.Chmod(locked, 0o700)
	cmd := exec.Command(nobodyBin, "scan", in, "--out", filepath.Join(base, "out"), "--scratch", base, "--quiet")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scan as nobody: %v\n%s", err, stderr.String())
	}
	got := stderr.String()
	if strings.ContainsRune(got, 0x1b) {
		t.Errorf("raw escape on the terminal: %q", got)
	}
	for _, want := range []string{`locked\x1b[31mred: cannot be read: permission denied`, `secret.bin: cannot be read: permission denied`} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr lacks %q: %s", want, got)
		}
	}
	if keys, _ := filepath.Glob(filepath.Join(base, "out", "builds", "*")); len(keys) != 1 {
		t.Errorf("%d builds archived, want 1 (good.txt)", len(keys))
	}
}

package reports_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tomscan/tomscan/pe"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// TestWriteJSONIsEncodeJSON: the streamed encoding is EncodeJSON's, byte
// for byte: every fixture (hostile strings included, and a report loaded
// from disk, whose TOM section comes last), a report without a tree, and
// the archived reports of the synthetic corpus when TOMSCAN_TEST_ARCHIVE
// names an archive (any tomscan scan --out folder).
func TestWriteJSONIsEncodeJSON(t *testing.T) {
	all := reportstest.All()
	var names []string
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	check := func(name string, r *reports.Report) {
		t.Helper()
		want, err := reports.EncodeJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := reports.WriteJSON(&got, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: WriteJSON differs from EncodeJSON (%d vs %d bytes)", name, got.Len(), len(want))
		}
	}
	for _, n := range names {
		r := all[n]
		check(n, r)
		js, err := reports.EncodeJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := reports.DecodeJSON(js)
		if err != nil {
			t.Fatal(err)
		}
		check(n+" (loaded)", loaded)
	}
	noTree := reportstest.Regular()
	noTree.Tree = nil
	check("no tree", noTree)
	check("many strings", bigReport(4, 60))
	if dir := os.Getenv("TOMSCAN_TEST_ARCHIVE"); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "builds", "*", "report.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := reports.DecodeJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			check(f, r)
		}
	}
}

// FuzzIndenter: for any JSON value, indenting its compact form as WriteJSON
// streams it gives json.Indent's bytes. The value goes in as a report's
// TOM section, which WriteJSON copies through the indenter as it is.
func FuzzIndenter(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":"x\"y\\"},[],{}],"c":null}`, `[[[]],[{}],"\u2028<&>"]`, `"s"`, `1.5e3`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(s)); err != nil {
			return
		}
		r := reportstest.Regular()
		r.Tree = nil
		r.TOM = nil
		r.TOMRaw = compact.Bytes()
		want, err := reports.EncodeJSON(r)
		if err != nil {
			return // a value encoding/json itself refuses as a RawMessage
		}
		var got bytes.Buffer
		if err := reports.WriteJSON(&got, r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("indented %q differs:\n got %q\nwant %q", s, got.Bytes(), want)
		}
	})
}

// FuzzWriteJSONStrings: nodes' string listings, written by WriteJSON's own
// path, are EncodeJSON's bytes: any value, encoding, section and offset,
// with or without a section, at any depth in the tree (past the depths
// the indenter keeps indents for), in a node with children or without.
func FuzzWriteJSONStrings(f *testing.F) {
	f.Add("GetProcAddress", "ascii", ".text", int64(4096), uint8(1), uint8(3))
	f.Add(reportstest.Hostile, "utf16le", "", int64(-1), uint8(40), uint8(2))
	f.Add("\xff\\\"\u2028<&>\x00", "gbk\t", "RT_VERSION/1/2052", int64(1)<<62, uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, value, enc, where string, offset int64, depth, count uint8) {
		r := reportstest.Regular()
		n := r.Tree
		for d := 0; d <= int(depth%48); d++ {
			set := &pe.StringSet{Count: int(count), Truncated: d%2 == 1}
			for i := 0; i < int(count%8); i++ {
				s := pe.String{Offset: offset + int64(i), Encoding: enc, Value: value[:len(value)*i/8], Where: where}
				if i%3 == 1 {
					s.Where = ""
				}
				set.Strings = append(set.Strings, s)
			}
			n.Strings = set
			child := reportstest.Regular().Tree
			n.Children = append(n.Children, child)
			n = child
		}
		want, err := reports.EncodeJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := reports.WriteJSON(&got, r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("WriteJSON differs from EncodeJSON (%d vs %d bytes)", got.Len(), len(want))
		}
	})
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// TestWriteJSONStopsOnWriteError: a writer that fails part way (a full
// disk) makes WriteJSON fail, not succeed with half a report.
func TestWriteJSONStopsOnWriteError(t *testing.T) {
	r := reportstest.TOM()
	for i := 0; i < 2000; i++ { // more than bufio's 1 MiB
		r.Tree.Children = append(r.Tree.Children, reportstest.HostileBuild().Tree)
	}
	if err := reports.WriteJSON(&failingWriter{n: 1 << 20}, r); err == nil {
		t.Fatal("WriteJSON succeeded on a writer that failed")
	}
}

// TestMoveAtomic: a report file moves into place by a rename on one file
// system and by a copy across two (/dev/shm, a tmpfs, when there is one),
// the bytes intact and the source gone either way.
func TestMoveAtomic(t *testing.T) {
	body := bytes.Repeat([]byte("{report}\n"), 300000)
	srcDirs := []string{t.TempDir()}
	if shm, err := os.MkdirTemp("/dev/shm", "tomscan-move-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(shm) })
		srcDirs = append(srcDirs, shm)
	}
	for _, dir := range srcDirs {
		src := filepath.Join(dir, "r.json")
		if err := os.WriteFile(src, body, 0o600); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(t.TempDir(), "builds", "k", "report.json")
		if err := reports.MoveAtomic(src, dst); err != nil {
			t.Fatalf("from %s: %v", dir, err)
		}
		got, err := os.ReadFile(dst)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("from %s: moved file differs (%v)", dir, err)
		}
		if info, err := os.Stat(dst); err != nil || info.Mode().Perm() != 0o644 {
			t.Errorf("from %s: mode %v (%v), want 0644 as WriteAtomic gives", dir, info.Mode(), err)
		}
		if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("from %s: source left behind (%v)", dir, err)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".tmp-*")); len(left) > 0 {
			t.Errorf("from %s: temp files left: %v", dir, left)
		}
	}
}

// bigReport is a report shaped like a ZIP of many PEs: most of its bytes
// are the string listings of its nodes (offsets, encodings, sections and
// values: plain ASCII, Windows paths with backslashes, quotes, control
// bytes, HTML-ish text, Chinese, invalid UTF-8).
func bigReport(nodes, perNode int) *reports.Report {
	r := reportstest.TOM()
	values := []string{
		"GetProcAddress", "KERNEL32.dll", `C:\Program Files\Skype\Phone\Skype.exe`,
		"This program cannot be run in DOS mode.", `say "hi"`, "tab\there\r\n",
		"<assembly xmlns=\"urn:schemas-microsoft-com:asm.v1\">&amp;", "法轮功 六四 天安门",
		"bad\xff\xfeutf8", "\u2028line\u2029sep", "\x01\x02\x1f ctl", "http://skype.tom.com/update?v=5.1&x=1",
	}
	wheres := []string{".text", ".rdata", "RT_VERSION/1/2052", ""}
	for i := 0; i < nodes; i++ {
		n := reportstest.Regular().Tree
		n.ID, n.Name = fmt.Sprintf("pes.zip!%d/file%d.exe", i, i), fmt.Sprintf("file%d.exe", i)
		set := &pe.StringSet{Count: perNode}
		for j := 0; j < perNode; j++ {
			set.Strings = append(set.Strings, pe.String{Offset: int64(j * 37), Encoding: pe.EncASCII,
				Value: fmt.Sprintf("%s %d", values[(i+j)%len(values)], j), Where: wheres[j%len(wheres)]})
		}
		n.Strings = set
		r.Tree.Children = append(r.Tree.Children, n)
	}
	return r
}

func benchmarkWriteJSON(b *testing.B, r *reports.Report) {
	var size countingWriter
	if err := reports.WriteJSON(&size, r); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := reports.WriteJSON(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
	// The machine is shared: wall time counts the waits for a core, CPU
	// time (user+system of the process, so GC included) does not.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(size)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type countingWriter int

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

// BenchmarkWriteJSON: a synthetic report of 200 nodes of 5000 strings
// (about 90 MB of JSON), and the report TOMSCAN_BENCH_REPORT names (a
// report.json, e.g. of a large ZIP of PEs) when set.
func BenchmarkWriteJSON(b *testing.B) {
	b.Run("synthetic", func(b *testing.B) { benchmarkWriteJSON(b, bigReport(200, 5000)) })
	if path := os.Getenv("TOMSCAN_BENCH_REPORT"); path != "" {
		js, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := reports.DecodeJSON(js)
		if err != nil {
			b.Fatal(err)
		}
		js = nil
		b.Run("file", func(b *testing.B) { benchmarkWriteJSON(b, r) })
	}
}

// TestWriteJSONReusesBuffersSafely: writers running at once, each reusing
// buffers other reports left (larger and smaller ones, interleaved), give
// EncodeJSON's bytes every time.
func TestWriteJSONReusesBuffersSafely(t *testing.T) {
	all := reportstest.All()
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for round := range 5 {
				for name, r := range all {
					if (len(name)+g+round)%2 == 0 {
						continue
					}
					want, err := reports.EncodeJSON(r)
					if err != nil {
						t.Error(err)
						return
					}
					var got bytes.Buffer
					if err := reports.WriteJSON(&got, r); err != nil || !bytes.Equal(got.Bytes(), want) {
						t.Errorf("%s (writer %d, round %d): WriteJSON differs from EncodeJSON: %v", name, g, round, err)
					}
				}
			}
		})
	}
	wg.Wait()
}

package ruletest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tomscan/tomscan/corpus/manifest"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/registry"
	"github.com/tomscan/tomscan/rules"
)

// fixtureBuild is one build of a small corpus made in the test: a ZIP (maybe
// nested) whose entries hold the given bytes.
type fixtureBuild struct {
	id       string
	entries  map[string][]byte
	nested   bool // wrap the ZIP in another ZIP, so matches sit at depth 2
	expected []string
}

func zipOf(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	// sorted for deterministic bytes
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if names[j] < names[i] {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: time.Date(2008, 10, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(entries[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeCorpus writes builds/<id>.zip and a manifest in the contract's shape.
func writeCorpus(t *testing.T, builds []fixtureBuild) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ruletest-corpus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if dir != fixtureDir {
			os.RemoveAll(dir)
		}
	})
	if err := os.MkdirAll(filepath.Join(dir, "builds"), 0o755); err != nil {
		t.Fatal(err)
	}
	var m manifest.Manifest
	m.SchemaVersion = "1"
	for _, b := range builds {
		data := zipOf(t, b.entries)
		if b.nested {
			data = zipOf(t, map[string][]byte{"inner/setup.zip": data})
		}
		file := "builds/" + b.id + ".zip"
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			t.Fatal(err)
		}
		exp := b.expected
		if exp == nil {
			exp = []string{}
		}
		m.Builds = append(m.Builds, manifest.Build{ID: b.id, File: file, ExpectedRules: exp})
	}
	js, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func compileText(t *testing.T, ns, text string) *rules.Set {
	t.Helper()
	set, err := rules.Compile(context.Background(), []rules.Source{{Namespace: ns, Path: ns + ".yar", Text: []byte(text)}})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func testEngine() *unpack.Engine { return unpack.New(registry.All(), registry.Tools()) }

func testLimits() limits.Limits {
	l := limits.Default()
	l.BuildTimeout = time.Minute
	return l
}

// tomFixture is a small corpus that carries the traits the shipped pack looks
// for, as the literature describes them, in ASCII and UTF-16LE, nested, so
// the pack and the yara CLI have something to agree on without the real
// corpus.
func tomFixture(t *testing.T) string {
	t.Helper()
	fixtureOnce.Do(func() { fixtureDir = buildTOMFixture(t) })
	if fixtureDir == "" {
		t.Fatal("fixture corpus could not be built")
	}
	return fixtureDir
}

// The fixture corpus is built once per test binary (compiling its PEs takes
// seconds) and removed by TestMain.
var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureRoot string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureRoot != "" {
		os.RemoveAll(fixtureRoot)
	}
	os.Exit(code)
}

func buildTOMFixture(t *testing.T) string {
	wide := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return b
	}
	client := append([]byte("MZ\x00\x00 padding TOM-Skype (TM) "), wide("http://skypetools.tom.com/agent/keyfile_u")...)
	client = append(client, []byte(" skypetools.tom.com/agent/skypever.php?md5=\x00http://222.77.71.74/upload/msg.php\x00\x8a\x01\xfe\x10\x42\x99\x7f\x33\x00\x00")...)
	builds := []fixtureBuild{
		{id: "fixture-tom", nested: true, entries: map[string][]byte{
			"app/Skype.exe":         client,
			"app/ContentFilter.exe": append([]byte("MZ"), wide("Tom Word Review")...),
			"readme.txt":            []byte("nothing to see"),
		}},
		{id: "fixture-gmw", entries: map[string][]byte{"Skype.exe": wide("http://skype.gmw.cn/")}},
		{id: "fixture-plain", entries: map[string][]byte{"tool.exe": []byte("MZ an unrelated tool; see www.tom.com for news")}},
	}
	// Real PEs with real version resources when mingw-w64 is there (make
	// setup installs it): the regular client, and a TOM client whose version
	// info is the same but whose About text names TOM.
	if regular := mingwPE(t, skypeVersionRC, ""); regular != nil {
		builds = append(builds,
			fixtureBuild{id: "fixture-regular", entries: map[string][]byte{"Skype.exe": regular}},
			fixtureBuild{id: "fixture-tom-en", entries: map[string][]byte{"Skype.exe": mingwPE(t, skypeVersionRC, "About TOM-Skype (TM)")}})
	}
	dir := writeCorpus(t, builds)
	fixtureRoot = dir
	return dir
}

const skypeVersionRC = `1 VERSIONINFO
FILEVERSION 5,1,0,112
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904b0"
    BEGIN
      VALUE "CompanyName", "Skype Technologies S.A."
      VALUE "OriginalFilename", "Skype.exe"
      VALUE "ProductName", "Skype"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
`

// mingwPE compiles a small PE with the given resource script and, when about
// is set, a string table entry holding it; nil when mingw-w64 is missing.
func mingwPE(t *testing.T, rc, about string) []byte {
	t.Helper()
	gcc, err1 := exec.LookPath("x86_64-w64-mingw32-gcc")
	windres, err2 := exec.LookPath("x86_64-w64-mingw32-windres")
	if err1 != nil || err2 != nil {
		t.Log("mingw-w64 not installed: PE fixtures left out")
		return nil
	}
	dir := t.TempDir()
	if about != "" {
		rc += "STRINGTABLE\nBEGIN\n  100, \"" + about + "\"\nEND\n"
	}
	os.WriteFile(filepath.Join(dir, "v.rc"), []byte(rc), 0o644)
	os.WriteFile(filepath.Join(dir, "m.c"), []byte("int main(void){return 0;}\n"), 0o644)
	for _, c := range [][]string{
		{windres, "v.rc", "-O", "coff", "-o", "v.o"},
		{gcc, "-o", "s.exe", "m.c", "v.o", "-Wl,--no-insert-timestamp"},
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "s.exe"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

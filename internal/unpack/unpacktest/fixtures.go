package unpacktest

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ZipOf builds a ZIP archive of name -> content, in the given order.
func ZipOf(t testing.TB, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		fw, err := w.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(f[1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Tool returns the path of a program or skips the test without it.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (make setup)", name)
	}
	return p
}

// Build writes files (relative name -> content) into a temp folder, runs
// the program there with args, and returns the bytes of the output file.
func Build(t testing.TB, files map[string][]byte, output string, prog string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(Tool(t, prog), args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, output))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// MinimalPE is a tiny valid Windows executable built with mingw-w64; it
// skips the test when the cross compiler is missing. rc, when not empty, is
// a windres script compiled into the PE's resources (files from extra are
// written next to it).
func MinimalPE(t testing.TB, rc string, extra map[string][]byte) []byte {
	t.Helper()
	files := map[string][]byte{"m.c": []byte("int main(void){return 0;}\n")}
	for k, v := range extra {
		files[k] = v
	}
	if rc == "" {
		return Build(t, files, "m.exe", "x86_64-w64-mingw32-gcc", "-s", "-o", "m.exe", "m.c")
	}
	files["r.rc"] = []byte(rc)
	dir := t.TempDir()
	for name, b := range files {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	run := func(prog string, args ...string) {
		cmd := exec.Command(Tool(t, prog), args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
		}
	}
	run("x86_64-w64-mingw32-windres", "r.rc", "-O", "coff", "-o", "r.o")
	run("x86_64-w64-mingw32-gcc", "-s", "-o", "m.exe", "m.c", "r.o")
	b, err := os.ReadFile(filepath.Join(dir, "m.exe"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

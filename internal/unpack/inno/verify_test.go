package inno

import (
	"crypto/sha1"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
)

// TestExpected: the setup data's size and checksum hold innoextract's file;
// a path named twice is not checked (innoextract renames the second).
func TestExpected(t *testing.T) {
	sum := sha1.Sum([]byte("abc"))
	files := artifact.Table{Columns: []string{"path", "destination", "dir", "name", "source", "flags", "size", "checksum"}, Rows: [][]string{
		{"app/a.exe", "", "", "", "", "", "3", "sha1:" + hex.EncodeToString(sum[:])},
		{"app/twice.dll", "", "", "", "", "", "1", "md5:00"},
		{"app/twice.dll", "", "", "", "", "", "2", "md5:00"},
	}}
	want := expected(files)
	if _, ok := want["app/twice.dll"]; ok || len(want) != 1 {
		t.Fatalf("expected %v", want)
	}
	for body, msg := range map[string]string{
		"abc":  "",
		"abd":  "inno: sha1 " + func() string { s := sha1.Sum([]byte("abd")); return hex.EncodeToString(s[:]) }() + ", the setup data says " + hex.EncodeToString(sum[:]),
		"ab":   "inno: innoextract wrote 2 bytes, the setup data says 3",
		"abcd": "inno: innoextract wrote 4 bytes, the setup data says 3",
	} {
		_, err := io.ReadAll(want["app/a.exe"].reader(strings.NewReader(body)))
		if got := ""; err != nil {
			got = err.Error()
			if got != msg {
				t.Errorf("%q: %q, want %q", body, got, msg)
			}
		} else if msg != "" {
			t.Errorf("%q: no error, want %q", body, msg)
		}
	}
	if expected(artifact.Table{Columns: []string{"path", "size"}}) != nil {
		t.Error("innoextract's own listing (no checksums) is not held to")
	}
}

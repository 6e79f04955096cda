package unpack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPasswordList(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pw")
	os.WriteFile(f, []byte("alpha\r\n\r\nbeta\n"), 0o600)
	got, err := PasswordList([]string{"one", "two"}, f)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range got {
		s = append(s, p.Value+"="+p.Label)
	}
	want := "infected=infected malware=malware virus=virus one=--password #1 two=--password #2 alpha=--password-file line 1 beta=--password-file line 3"
	if strings.Join(s, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(s, " "), want)
	}
	if _, err := PasswordList([]string{""}, ""); err == nil {
		t.Error("an empty --password was accepted")
	}
	if _, err := PasswordList(nil, filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing --password-file was accepted")
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("p\n", maxPasswordLines+1)), 0o600)
	if _, err := PasswordList(nil, big); err == nil {
		t.Error("an oversized list was accepted")
	}
}

package cab

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
	"github.com/tomscan/tomscan/pe"
)

// outcome is one extraction through the shared harness.
type outcome struct {
	entries map[string]string // name -> "size sha256"
	sig     *pe.Signature
	issues  []string
}

func extract(t *testing.T, data []byte) (*outcome, error) {
	t.Helper()
	if !(Extractor{}).Match(data, int64(len(data))) {
		t.Fatalf("Match refused the cabinet")
	}
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	o := &outcome{entries: map[string]string{}, sig: res.Signature, issues: res.Issues}
	for _, f := range res.Files {
		o.entries[f.Name] = fmt.Sprintf("%d %s", f.Size, f.SHA256)
		if f.Err != "" {
			o.issues = append(o.issues, fmt.Sprintf("entry %s: %s", f.Name, f.Err))
		}
	}
	return o, res.Err
}

// TestSignedCabinet signs a gcab cabinet with osslsigncode and checks that the
// signer is reported from the reserve-area blob.
func TestSignedCabinet(t *testing.T) {
	for _, tool := range []string{"gcab", "osslsigncode", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Skype.exe"), []byte(strings.Repeat("MZ skype ", 5000)), 0o644)
	run := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	run("gcab", "-c", "-z", "in.cab", "Skype.exe")
	run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", "2", "-subj", "/CN=TOM Online Inc")
	run("osslsigncode", "sign", "-certs", "c.pem", "-key", "k.pem", "-h", "sha256", "-in", "in.cab", "-out", "signed.cab")
	data, err := os.ReadFile(filepath.Join(dir, "signed.cab"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := extract(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if s.sig == nil || !strings.Contains(s.sig.Signer, "TOM Online Inc") || !s.sig.SignatureVerified || !s.sig.DigestMatches {
		t.Fatalf("signature %+v", s.sig)
	}
	// One changed byte of compressed data: the signature still parses, the
	// digest no longer matches (and the block checksum is reported).
	tampered := append([]byte(nil), data...)
	dataStart := int(binary.LittleEndian.Uint32(data[60:])) // first CFFOLDER's coffCabStart
	tampered[dataStart+12] ^= 0x01
	ts, _ := extract(t, tampered)
	if ts.sig == nil || ts.sig.DigestMatches || ts.sig.Signer == "" {
		t.Errorf("tampered cabinet: signature %+v", ts.sig)
	}
	if got, want := s.entries["Skype.exe"], fmt.Sprintf("%d %x", 45000, sha256.Sum256([]byte(strings.Repeat("MZ skype ", 5000)))); got != want {
		t.Errorf("Skype.exe %s, want %s", got, want)
	}
}

func TestUnsignedAndDamaged(t *testing.T) {
	if _, err := exec.LookPath("gcab"); err != nil {
		t.Skip("gcab not installed")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte(strings.Repeat("hello ", 20000)), 0o644)
	cmd := exec.Command("gcab", "-c", "-z", "a.cab", "a.txt")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcab: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "a.cab"))
	s, err := extract(t, data)
	if err != nil || s.sig != nil || len(s.entries) != 1 || len(s.issues) != 0 {
		t.Fatalf("clean cabinet: err %v sig %v entries %v issues %q", err, s.sig, s.entries, s.issues)
	}
	// Truncated: the entry is listed, its body fails, the failure is visible.
	s, err = extract(t, data[:len(data)*2/3])
	if err != nil {
		t.Fatal(err)
	}
	if len(s.issues) == 0 {
		t.Errorf("truncated cabinet: no issues, entries %v", s.entries)
	}
}

// TestGBKName: a cabinet made on a Chinese system stores its names in GBK
// (gcab copies the bytes and flags them UTF-8 all the same); the child is
// named in Chinese, says so, and keeps the bytes as stored.
func TestGBKName(t *testing.T) {
	unpacktest.Tool(t, "gcab")
	raw, err := simplifiedchinese.GBK.NewEncoder().String("说明.txt")
	if err != nil {
		t.Fatal(err)
	}
	data := unpacktest.Build(t, map[string][]byte{raw: []byte("hello")}, "g.cab", "gcab", "-c", "g.cab", raw)
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	if len(res.Files) != 1 || len(res.Issues) != 0 {
		t.Fatalf("files %v issues %v", res.Set(), res.Issues)
	}
	f := res.Files[0]
	if f.Name != "说明.txt" || f.Meta["name_encoding"] != "gbk" || f.Meta["original_name"] != strconv.Quote(raw) {
		t.Errorf("name %q meta %v", f.Name, f.Meta)
	}
}

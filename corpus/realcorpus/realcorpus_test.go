package realcorpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minimalPE builds a small PE32 by hand: one section, optional overlay and an
// optional security directory pointing at a fake certificate table.
func minimalPE(overlay []byte, cert bool) []byte {
	const peOff = 0x40
	b := make([]byte, 0x200)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], peOff)
	copy(b[peOff:], "PE\x00\x00")
	coff := peOff + 4
	binary.LittleEndian.PutUint16(b[coff:], 0x14c)   // i386
	binary.LittleEndian.PutUint16(b[coff+2:], 1)     // one section
	binary.LittleEndian.PutUint16(b[coff+16:], 0xe0) // optional header size
	opt := coff + 20
	binary.LittleEndian.PutUint16(b[opt:], 0x10b) // PE32
	binary.LittleEndian.PutUint32(b[opt+92:], 16) // NumberOfRvaAndSizes
	sec := opt + 0xe0
	copy(b[sec:], ".text")
	binary.LittleEndian.PutUint32(b[sec+8:], 0x100)   // VirtualSize
	binary.LittleEndian.PutUint32(b[sec+12:], 0x1000) // VirtualAddress
	binary.LittleEndian.PutUint32(b[sec+16:], 0x100)  // SizeOfRawData
	binary.LittleEndian.PutUint32(b[sec+20:], 0x100)  // PointerToRawData
	b = append(b[:0x200], overlay...)
	if cert {
		certOff := len(b)
		b = append(b, make([]byte, 16)...)
		dir := opt + 96 + 8*4 // data directory 4: security
		binary.LittleEndian.PutUint32(b[dir:], uint32(certOff))
		binary.LittleEndian.PutUint32(b[dir+4:], 16)
	}
	return b
}

func TestClassify(t *testing.T) {
	msi := make([]byte, 1024)
	copy(msi, oleMagic)
	binary.LittleEndian.PutUint16(msi[0x1e:], 9)
	binary.LittleEndian.PutUint32(msi[0x30:], 0)
	copy(msi[512+0x50:], msiCLSID)
	doc := append([]byte{}, msi...)
	copy(doc[512+0x50:], bytes.Repeat([]byte{1}, 16))
	tests := []struct {
		name string
		data []byte
		want Sniffed
	}{
		{"text", []byte("hello, not a PE at all, just some text here to pass the length check....."), Sniffed{Installer: "none"}},
		{"MZ without PE", append([]byte("MZ"), make([]byte, 100)...), Sniffed{Installer: "none"}},
		{"plain PE", minimalPE(nil, false), Sniffed{PE: true, Installer: "none"}},
		{"signed PE", minimalPE(nil, true), Sniffed{PE: true, Signed: true, Installer: "none"}},
		{"7z SFX", minimalPE([]byte("7z\xbc\xaf\x27\x1c\x00\x04rest"), false), Sniffed{PE: true, Installer: "7z-sfx"}},
		{"zip SFX, signed", minimalPE([]byte("PK\x03\x04rest"), true), Sniffed{PE: true, Signed: true, Installer: "zip-sfx"}},
		{"NSIS", minimalPE([]byte("\x00\x00\x00\x00\xef\xbe\xad\xdeNullsoftInst"), false), Sniffed{PE: true, Installer: "nsis"}},
		{"NSIS magic only in code", append(minimalPE(nil, false)[:0x100], append([]byte("NullsoftInst"), make([]byte, 0x100-12)...)...), Sniffed{PE: true, Installer: "none"}},
		{"MSI", msi, Sniffed{MSI: true, Installer: "msi"}},
		{"Word document", doc, Sniffed{Installer: "none"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.data); got != tc.want {
				t.Fatalf("Classify = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(minimalPE([]byte("PK\x03\x04"), true))
	f.Add(minimalPE(nil, false))
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := Classify(data)
		if s.PE && s.MSI {
			t.Fatal("both PE and MSI")
		}
		if s.Signed && !s.PE {
			t.Fatal("signed but not a PE")
		}
		if s.Installer == "" {
			t.Fatal("empty installer type")
		}
	})
}

// TestRealCorpusManifest checks $TOMSCAN_REAL_CORPUS: every file exists with
// its hash, the recorded classification is what the bytes say, at least 300
// PEs, signed and installer samples present, nothing outside files/.
func TestRealCorpusManifest(t *testing.T) {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS is not set (make test sets it)")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	pes, signed := 0, 0
	installers := map[string]int{}
	packages := map[string]bool{}
	for _, f := range m.Files {
		if !filepath.IsLocal(f.Path) || !strings.HasPrefix(f.Path, "files/") {
			t.Errorf("%s: path outside files/", f.Path)
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Errorf("%s: %v", f.Path, err)
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
			t.Errorf("%s: hash/size differ", f.Path)
		}
		s := Classify(data)
		if s.PE != f.PE || s.Signed != f.Signed || s.Installer != f.Installer {
			t.Errorf("%s: manifest says pe=%v signed=%v installer=%s, bytes say %+v", f.Path, f.PE, f.Signed, f.Installer, s)
		}
		if f.Package == "" || f.Version == "" || (f.Registry != "deb" && f.Registry != "npm") {
			t.Errorf("%s: package %q version %q registry %q", f.Path, f.Package, f.Version, f.Registry)
		}
		packages[f.Package] = true
		if f.PE {
			pes++
		}
		if f.Signed {
			signed++
		}
		installers[f.Installer]++
	}
	if pes < 300 {
		t.Errorf("%d PEs, want at least 300", pes)
	}
	if signed == 0 || installers["nsis"] == 0 || installers["installshield"] == 0 {
		t.Errorf("signed=%d installers=%v: expected signed files, NSIS and InstallShield samples", signed, installers)
	}
	for _, src := range Sources {
		if !packages[src.Name] {
			t.Errorf("no file from %s %s", src.Registry, src.Name)
		}
	}
	t.Logf("%d files, %d PEs, %d signed, installers %v", len(m.Files), pes, signed, installers)
}

package macho

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"sync"
	"testing"

	"github.com/tomscan/tomscan/macho/machobuild"
	"github.com/tomscan/tomscan/macho/machotest"
	"github.com/tomscan/tomscan/pe"
)

const fixtureMain = `package main

import "fmt"

var identity = "Skype for iPhone fixture build https://skype.gmw.cn/ios/update"

func main() { fmt.Println(identity) }
`

type fixtures struct {
	arm64, amd64, fat, encrypted []byte
	textOff, textSize            uint32
}

var (
	fxOnce sync.Once
	fx     fixtures
)

// goFixtures builds darwin/arm64 and darwin/amd64 once per test binary.
func goFixtures(t testing.TB) fixtures {
	t.Helper()
	fxOnce.Do(func() {
		fx.arm64 = machotest.GoDarwinBinary(t, "arm64", fixtureMain)
		fx.amd64 = machotest.GoDarwinBinary(t, "amd64", fixtureMain)
		var err error
		if fx.fat, err = machobuild.JoinFat(14, fx.arm64, fx.amd64); err != nil {
			t.Fatal(err)
		}
		if fx.textOff, fx.textSize, err = machobuild.TextRange(fx.arm64); err != nil {
			t.Fatal(err)
		}
		if fx.encrypted, err = machobuild.AddEncryptionInfo(fx.arm64, fx.textOff, fx.textSize, 1); err != nil {
			t.Fatal(err)
		}
	})
	if fx.arm64 == nil {
		t.Fatal("fixtures not built")
	}
	return fx
}

func decodeBase64(b []byte) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
}

func analyze(t *testing.T, b []byte) *Summary {
	t.Helper()
	sum, err := Analyze(context.Background(), b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func issueKinds(s *Summary) []string {
	var k []string
	for _, is := range s.Issues {
		k = append(k, is.Kind+": "+is.Message)
	}
	return k
}

func TestThinArm64(t *testing.T) {
	f := goFixtures(t)
	s := analyze(t, f.arm64)
	if s.Fat || len(s.Slices) != 1 || len(s.Issues) != 0 {
		t.Fatalf("fat=%v slices=%d issues=%v", s.Fat, len(s.Slices), issueKinds(s))
	}
	sl := s.Slices[0]
	if sl.CPU != "arm64" || sl.Bits != 64 || sl.FileType != "execute" || sl.Platform != "macos" {
		t.Errorf("header: %+v", sl)
	}
	if int(sl.NCmds) != len(sl.LoadCommands) {
		t.Errorf("ncmds %d, listed %d", sl.NCmds, len(sl.LoadCommands))
	}
	var text *Section
	for i := range sl.Segments {
		for j := range sl.Segments[i].Sections {
			if x := &sl.Segments[i].Sections[j]; x.Name == "__text" {
				text = x
			}
		}
	}
	if text == nil || text.Entropy < 4 || text.Entropy > 8 {
		t.Errorf("__text section and entropy: %+v", text)
	}
	found := false
	for _, d := range sl.Dylibs {
		found = found || d.Name == "/usr/lib/libSystem.B.dylib" && d.Kind == "load"
	}
	if !found {
		t.Errorf("libSystem not among dylibs %+v", sl.Dylibs)
	}
	// The Go linker signs darwin/arm64 ad hoc: a SHA-256 CodeDirectory whose
	// identifier is "a.out", no team, no CMS signer.
	cs := sl.Signature
	if cs == nil || cs.Identifier != "a.out" || !cs.AdHoc || cs.TeamID != "" || len(cs.Directories) != 1 ||
		cs.Directories[0].HashType != "sha256" || len(cs.Directories[0].CDHash) != 40 {
		t.Errorf("code signature: %+v", cs)
	}
	if sl.Encryption != nil {
		t.Errorf("unexpected encryption %+v", sl.Encryption)
	}
}

func TestFatAndEncrypted(t *testing.T) {
	f := goFixtures(t)
	s := analyze(t, f.fat)
	if !s.Fat || len(s.Slices) != 2 || s.Slices[0].CPU != "arm64" || s.Slices[1].CPU != "x86_64" || len(s.Issues) != 0 {
		t.Fatalf("fat: %+v issues %v", s.Slices, issueKinds(s))
	}
	if s.Slices[1].Offset%(1<<14) != 0 || s.Slices[1].Size != int64(len(f.amd64)) {
		t.Errorf("x86_64 slice at %d size %d", s.Slices[1].Offset, s.Slices[1].Size)
	}

	e := analyze(t, f.encrypted)
	sl := e.Slices[0]
	if sl.Encryption == nil || sl.Encryption.CryptID != 1 || sl.Encryption.CryptOff != f.textOff || sl.Encryption.Command != "LC_ENCRYPTION_INFO_64" {
		t.Fatalf("encryption %+v", sl.Encryption)
	}
	if len(e.Issues) != 1 || e.Issues[0].Kind != IssueEncrypted {
		t.Errorf("issues %v, want one encrypted", issueKinds(e))
	}
	start, end, ok := sl.EncryptedRange()
	if !ok || start != int64(f.textOff) || end != int64(f.textOff+f.textSize) {
		t.Errorf("range %d..%d %v", start, end, ok)
	}
	m := e.Masked(f.encrypted)
	if !bytes.Equal(m[:start], f.encrypted[:start]) || !bytes.Equal(m[end:], f.encrypted[end:]) || bytes.Count(m[start:end], []byte{0}) != int(end-start) {
		t.Error("Masked must zero exactly the encrypted range")
	}
	if &m[0] == &f.encrypted[0] {
		t.Error("Masked changed its input")
	}
}

// TestEncryptedRangeNotClaimed: a string placed inside the encrypted range
// is neither a section string nor in the masked byte scan; outside it, it is.
func TestEncryptedRangeNotClaimed(t *testing.T) {
	f := goFixtures(t)
	const needle = "FAIRPLAY-CIPHERTEXT-MARKER"
	plain := analyze(t, f.arm64)
	var cstr *Section
	for i := range plain.Slices[0].Segments {
		for j := range plain.Slices[0].Segments[i].Sections {
			if x := &plain.Slices[0].Segments[i].Sections[j]; x.Name == "__rodata" || x.Name == "__cstring" {
				cstr = x
			}
		}
	}
	if cstr == nil {
		t.Fatal("no string section in the Go binary")
	}
	b := append([]byte(nil), f.arm64...)
	copy(b[cstr.Offset+16:], needle+"\x00")
	for _, tc := range []struct {
		name    string
		cryptid uint32
		want    bool
	}{{"cryptid 0", 0, true}, {"cryptid 1", 1, false}} {
		enc, err := machobuild.AddEncryptionInfo(b, cstr.Offset, uint32(cstr.Size), tc.cryptid)
		if err != nil {
			t.Fatal(err)
		}
		s := analyze(t, enc)
		set := pe.ExtractStrings(context.Background(), s.Masked(enc), pe.StringOptions{MinLength: 4, Max: 1 << 20})
		set = s.MergeStrings(set, SectionStrings(context.Background(), enc, s, 4), 1<<20)
		got := false
		for _, x := range set.Strings {
			got = got || strings.Contains(x.Value, needle)
		}
		if got != tc.want {
			t.Errorf("%s: needle found=%v, want %v", tc.name, got, tc.want)
		}
	}
}

// machoWithCStrings hand-builds a minimal 64-bit thin Mach-O with one
// __TEXT segment holding __cstring, __ustring and __cfstring sections.
func machoWithCStrings(t testing.TB) []byte {
	t.Helper()
	le := binary.LittleEndian
	cstr := []byte("hello\x00界面语言中文版\x00Skype™ for iPhone\x00ab\x00")
	ustr := []byte{}
	for _, r := range "光明网 Skype" {
		ustr = le.AppendUint16(ustr, uint16(r))
	}
	ustr = append(ustr, 0, 0)
	const base = 0x100000000
	cstrOff, ustrOff, cfOff := uint32(0x400), uint32(0x500), uint32(0x600)
	// two CFStrings: one 8-bit pointing at "Skype™ for iPhone", one UTF-16 at __ustring.
	cf := make([]byte, 64)
	le.PutUint64(cf[8:], 0x7c8)
	le.PutUint64(cf[16:], base+uint64(cstrOff)+uint64(bytes.Index(cstr, []byte("Skype"))))
	le.PutUint64(cf[24:], uint64(len("Skype™ for iPhone")))
	le.PutUint64(cf[32+8:], 0x7d0)
	le.PutUint64(cf[32+16:], base+uint64(ustrOff))
	le.PutUint64(cf[32+24:], uint64(len([]rune("光明网 Skype"))))

	size := 0x1000
	b := make([]byte, size)
	le.PutUint32(b, 0xfeedfacf)
	le.PutUint32(b[4:], machobuild.CPUARM64)
	le.PutUint32(b[12:], 2)
	nsect := 3
	segSize := 72 + 80*nsect
	le.PutUint32(b[16:], 1)
	le.PutUint32(b[20:], uint32(segSize))
	seg := b[32:]
	le.PutUint32(seg, 0x19)
	le.PutUint32(seg[4:], uint32(segSize))
	copy(seg[8:], "__TEXT")
	le.PutUint64(seg[24:], base)
	le.PutUint64(seg[32:], uint64(size))
	le.PutUint64(seg[40:], 0)
	le.PutUint64(seg[48:], uint64(size))
	le.PutUint32(seg[56:], 5)
	le.PutUint32(seg[60:], 5)
	le.PutUint32(seg[64:], uint32(nsect))
	for i, s := range []struct {
		name string
		off  uint32
		data []byte
	}{{"__cstring", cstrOff, cstr}, {"__ustring", ustrOff, ustr}, {"__cfstring", cfOff, cf}} {
		h := seg[72+80*i:]
		copy(h, s.name)
		copy(h[16:], "__TEXT")
		le.PutUint64(h[32:], base+uint64(s.off))
		le.PutUint64(h[40:], uint64(len(s.data)))
		le.PutUint32(h[48:], s.off)
		copy(b[s.off:], s.data)
	}
	return b
}

func TestSectionStrings(t *testing.T) {
	b := machoWithCStrings(t)
	s := analyze(t, b)
	if len(s.Issues) != 0 {
		t.Fatalf("issues %v", issueKinds(s))
	}
	got := map[string]string{}
	for _, x := range SectionStrings(context.Background(), b, s, 4) {
		got[x.Where+" "+x.Encoding+" "+x.Value] = ""
	}
	for _, want := range []string{
		"arm64:__TEXT,__cstring ascii hello",
		"arm64:__TEXT,__cstring utf8 界面语言中文版",
		"arm64:__TEXT,__cstring utf8 Skype™ for iPhone",
		"arm64:__TEXT,__ustring utf16le 光明网 Skype",
		"arm64:__TEXT,__cfstring utf8 Skype™ for iPhone",
		"arm64:__TEXT,__cfstring utf16le 光明网 Skype",
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	if _, ok := got["arm64:__TEXT,__cstring ascii ab"]; ok {
		t.Error("a string under the minimum length was kept")
	}
}

// Adversarial fixtures: every problem is an issue and what can be read is kept.
func TestAdversarial(t *testing.T) {
	f := goFixtures(t)
	be := binary.BigEndian
	le := binary.LittleEndian

	overlap := append([]byte(nil), f.fat...)
	// the second slice starts inside the first
	be.PutUint32(overlap[8+20+8:], be.Uint32(overlap[8+8:])+64)
	pastEOF := append([]byte(nil), f.fat...)
	be.PutUint32(pastEOF[8+20+12:], uint32(len(pastEOF)))
	cmdPastEnd := append([]byte(nil), f.arm64...)
	// load command 2's cmdsize runs far past sizeofcmds
	p := 32
	for i := 0; i < 2; i++ {
		p += int(le.Uint32(cmdPastEnd[p+4:]))
	}
	le.PutUint32(cmdPastEnd[p+4:], 1<<30)
	hugeNcmds := append([]byte(nil), f.arm64...)
	le.PutUint32(hugeNcmds[16:], 1<<31)
	sizeofcmdsPastEOF := append([]byte(nil), f.arm64[:4096]...)
	le.PutUint32(sizeofcmdsPastEOF[20:], 1<<20)

	for _, tc := range []struct {
		name      string
		b         []byte
		wantIssue string
		slices    int
	}{
		{"fat slices overlap", overlap, "overlaps slice 0", 1},
		{"fat slice past EOF", pastEOF, "lies past the end of the file", 1},
		{"load command size past the end", cmdPastEnd, "load command 2 (", 1},
		{"ncmds huge", hugeNcmds, "load commands declared", 1},
		{"sizeofcmds past EOF", sizeofcmdsPastEOF, "sizeofcmds 1048576 runs past the end", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Analyze(context.Background(), tc.b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(issueKinds(s), "\n"), tc.wantIssue) {
				t.Errorf("issues %v, want one containing %q", issueKinds(s), tc.wantIssue)
			}
			if len(s.Slices) != tc.slices {
				t.Errorf("%d slices kept, want %d", len(s.Slices), tc.slices)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	f := goFixtures(t)
	java := []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52, 0, 0, 0, 0}
	for _, tc := range []struct {
		b    []byte
		want bool
	}{{f.arm64, true}, {f.amd64, true}, {f.fat, true}, {java, false}, {[]byte("MZ\x90\x00"), false}, {nil, false}} {
		if got := IsMachO(tc.b); got != tc.want {
			t.Errorf("IsMachO(% x) = %v", tc.b[:min(len(tc.b), 8)], got)
		}
	}
	if _, err := Analyze(context.Background(), java, Options{}); err != ErrNotMachO {
		t.Errorf("java class: %v", err)
	}
	if _, err := Analyze(context.Background(), f.arm64, Options{MaxBytes: 100}); err == nil {
		t.Error("MaxBytes not enforced")
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add(machoWithCStrings(f))
	f.Add([]byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2, 1, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0x30, 0, 0, 0, 0x10})
	f.Add([]byte{0xcf, 0xfa, 0xed, 0xfe, 12, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1d, 0, 0, 0, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Analyze(context.Background(), b, Options{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		_ = SectionStrings(context.Background(), b, s, 4)
		_ = s.Masked(b)
		for _, sl := range s.Slices {
			if sl.Offset < 0 || sl.Offset+sl.Size > int64(len(b)) {
				t.Fatalf("slice %d+%d outside %d bytes", sl.Offset, sl.Size, len(b))
			}
		}
	})
}

func BenchmarkAnalyzeFat(b *testing.B) {
	f := goFixtures(b)
	b.SetBytes(int64(len(f.fat)))
	for i := 0; i < b.N; i++ {
		s, err := Analyze(context.Background(), f.fat, Options{})
		if err != nil {
			b.Fatal(err)
		}
		_ = SectionStrings(context.Background(), f.fat, s, 4)
	}
}

// TestFat64: the 64-bit universal header (0xCAFEBABF, 32-byte entries).
func TestFat64(t *testing.T) {
	f := goFixtures(t)
	be := binary.BigEndian
	hdr := make([]byte, 8+2*32)
	be.PutUint32(hdr, 0xcafebabf)
	be.PutUint32(hdr[4:], 2)
	out := append([]byte(nil), hdr...)
	for i, s := range [][]byte{f.arm64, f.amd64} {
		for len(out)%(1<<14) != 0 {
			out = append(out, 0)
		}
		e := out[8+32*i:]
		be.PutUint32(e, binary.LittleEndian.Uint32(s[4:]))
		be.PutUint32(e[4:], binary.LittleEndian.Uint32(s[8:]))
		be.PutUint64(e[8:], uint64(len(out)))
		be.PutUint64(e[16:], uint64(len(s)))
		be.PutUint32(e[24:], 14)
		out = append(out, s...)
	}
	s := analyze(t, out)
	if !s.Fat || len(s.Slices) != 2 || s.Slices[0].CPU != "arm64" || s.Slices[1].CPU != "x86_64" || len(s.Issues) != 0 {
		t.Fatalf("fat64: %+v %v", s.Slices, issueKinds(s))
	}
	if s.Slices[1].Size != int64(len(f.amd64)) || !bytes.Equal(out[s.Slices[1].Offset:s.Slices[1].Offset+4], f.amd64[:4]) {
		t.Error("x86_64 slice misplaced")
	}
}

package isstream

import (
	"os"
	"path/filepath"

	"github.com/tomscan/tomscan/internal/unpack"
	"slices"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

func rec(name, path, version string, data string) string {
	return name + "\x00" + path + "\x00" + version + "\x00" + itoa(len(data)) + "\x00" + data
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestExtract(t *testing.T) {
	stream := rec("data1.cab", `Disk1\data1.cab`, "0.0.0.0", "ISc(cabinet") + rec("setup.ini", `Disk1\setup.ini`, "1.2", "[Startup]\r\n")
	if !(Extractor{}).Match([]byte(stream), int64(len(stream))) {
		t.Fatal("no match")
	}
	res := unpacktest.Run(t, Extractor{}, []byte(stream), unpacktest.Options{})
	want := []string{
		`Disk1\data1.cab 11 ` + unpacktest.Digest([]byte("ISc(cabinet")),
		`Disk1\setup.ini 11 ` + unpacktest.Digest([]byte("[Startup]\r\n")),
	}
	if res.Err != nil || !slices.Equal(res.Set(), want) {
		t.Errorf("err %v set %v", res.Err, res.Set())
	}
	res = unpacktest.Run(t, Extractor{}, []byte(stream[:len(stream)-3]), unpacktest.Options{})
	if res.Err == nil || len(res.Files) != 1 {
		t.Errorf("truncated: err %v files %v", res.Err, res.Names())
	}
	for _, bad := range []string{"MZ\x90\x00", "a\x00b\x00notaversion\x0012\x00", "a\x00b\x001.0\x00-5\x00"} {
		if (Extractor{}).Match([]byte(bad), 100) {
			t.Errorf("matched %q", bad)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte(rec("a", `D\a`, "1.0", "hello") + rec("b", "", "2", "")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if (Extractor{}).Match(data, int64(len(data))) {
			unpacktest.Run(t, Extractor{}, data, unpacktest.Options{MaxBody: 1 << 20})
		}
	})
}

// The cabinet set is written under its own (vetted) names next to each
// other and handed to unshield; a stand-in checks that the header is there.
func TestCabinetSetWithStandIn(t *testing.T) {
	p := filepath.Join(t.TempDir(), "unshield")
	script := "#!/bin/sh\n[ -f data1.hdr ] && [ -f data1.cab ] || exit 7\nmkdir -p \"$4/DefaultComponent\"\nprintf payload > \"$4/DefaultComponent/clam.exe\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	stream := rec("data1.cab", `Disk1\data1.cab`, "0.0.0.0", "ISc(body") + rec("Data1.HDR", `Disk1\data1.hdr`, "0.0.0.0", "ISc(hdr") + rec("../evil.cab", `x`, "1", "z")
	res := unpacktest.Run(t, Extractor{}, []byte(stream), unpacktest.Options{Tools: &unpack.Tools{Unshield: p}})
	if res.Err != nil || !slices.Contains(res.Set(), CabinetPrefix+"DefaultComponent/clam.exe 7 "+unpacktest.Digest([]byte("payload"))) || len(res.Files) != 4 {
		t.Errorf("err %v set %v issues %v", res.Err, res.Set(), res.Issues)
	}
}

func TestCabinetSetRealInstaller(t *testing.T) {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	unpacktest.Tool(t, "unshield")
	exe, err := os.ReadFile(filepath.Join(dir, "files/deb/clamav-testfiles/usr/share/clamav-testfiles/clam_IScab_int.exe"))
	if err != nil {
		t.Skip(err)
	}
	const overlay = 115200 // where the section table says the PE ends (pefile agrees)
	res := unpacktest.Run(t, Extractor{}, exe[overlay:], unpacktest.Options{})
	if res.Err != nil || !slices.Contains(res.Names(), CabinetPrefix+"DefaultComponent/clam.exe") {
		t.Errorf("err %v names %v issues %v", res.Err, res.Names(), res.Issues)
	}
}

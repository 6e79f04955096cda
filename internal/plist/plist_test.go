package plist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	hplist "howett.net/plist"

	"github.com/tomscan/tomscan/internal/plist/plisttest"
)

// infoPlist is an Info.plist of the shape the IPA analyser reads, with every
// plist type in it.
func infoPlist() map[string]any {
	return map[string]any{
		"CFBundleIdentifier":         "com.skype.skype",
		"CFBundleDisplayName":        "Skype",
		"CFBundleShortVersionString": "4.17.3",
		"CFBundleVersion":            "4.17.3.3303",
		"MinimumOSVersion":           "6.0",
		"CFBundleLocalizations":      []any{"en", "zh_CN", "ja"},
		"CFBundleURLTypes":           []any{map[string]any{"CFBundleURLSchemes": []any{"skype", "skype-ios"}}},
		"NSAppTransportSecurity": map[string]any{"NSExceptionDomains": map[string]any{
			"gmw.cn": map[string]any{"NSIncludesSubdomains": true, "NSExceptionAllowsInsecureHTTPLoads": true}}},
		"UIBackgroundModes":  []any{"voip", "audio"},
		"UIDeviceFamily":     []any{uint64(1), uint64(2)},
		"LSRequiresIPhoneOS": true,
		"Negative":           int64(-7),
		"Ratio":              1.5,
		"Whole":              2.0,
		"Big":                uint64(1) << 63,
		"Date":               time.Date(2013, 11, 5, 8, 0, 0, 0, time.UTC),
		"Blob":               []byte{0, 1, 2, 0xff},
		"Empty":              map[string]any{},
		"名称":                 "中文显示名",
	}
}

func encode(t *testing.T, v any, format int) []byte {
	t.Helper()
	b, err := hplist.Marshal(v, format)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pythonBinary(t *testing.T, xmlPlist []byte) []byte {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", "-c", "import plistlib,sys; sys.stdout.buffer.write(plistlib.dumps(plistlib.loads(sys.stdin.buffer.read()), fmt=plistlib.FMT_BINARY))")
	cmd.Stdin = bytes.NewReader(xmlPlist)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAgainstPlistlib: XML and binary, written by howett.net/plist and by
// plistlib itself, decode to what plistlib reads.
func TestAgainstPlistlib(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	x := encode(t, infoPlist(), hplist.XMLFormat)
	for name, tc := range map[string]struct {
		b      []byte
		format string
	}{
		"xml":              {x, FormatXML},
		"binary":           {encode(t, infoPlist(), hplist.BinaryFormat), FormatBinary},
		"plistlib binary":  {pythonBinary(t, x), FormatBinary},
		"openstep (text)":  {[]byte(`{ CFBundleIdentifier = "com.example"; Items = (a, "b c"); }`), FormatText},
		"xml with comment": {[]byte("<?xml version=\"1.0\"?>\n<!-- c --><plist version=\"1.0\"><dict><key>k</key><integer>42</integer></dict></plist>"), FormatXML},
	} {
		t.Run(name, func(t *testing.T) {
			v, f, err := Decode(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if f != tc.format {
				t.Errorf("format %s, want %s", f, tc.format)
			}
			if tc.format == FormatText {
				return // plistlib reads no OpenStep plists
			}
			if ok, diff := plisttest.Equal(t, tc.b, v); !ok {
				t.Error(diff)
			}
		})
	}
}

// deepBinary writes a bplist00 of n arrays, each holding the next; cycle
// makes the last hold the first.
func deepBinary(n int, cycle bool) []byte {
	var b bytes.Buffer
	b.WriteString("bplist00")
	offs := make([]int, n+1)
	for i := 0; i < n; i++ {
		offs[i] = b.Len()
		b.WriteByte(0xa1) // array of one
		next := i + 1
		if i == n-1 {
			if cycle {
				next = 0
			} else {
				next = n // the leaf
			}
		}
		binary.Write(&b, binary.BigEndian, uint32(next))
	}
	offs[n] = b.Len()
	b.WriteByte(0x09) // true
	table := b.Len()
	for _, o := range offs {
		binary.Write(&b, binary.BigEndian, uint32(o))
	}
	tr := make([]byte, 32)
	tr[6], tr[7] = 4, 4
	binary.BigEndian.PutUint64(tr[8:], uint64(n+1))
	binary.BigEndian.PutUint64(tr[16:], 0)
	binary.BigEndian.PutUint64(tr[24:], uint64(table))
	b.Write(tr)
	return b.Bytes()
}

// TestRecursion: deep nesting is refused before the decoder recurses, a
// reference cycle is an error, and nesting within the limit decodes.
func TestRecursion(t *testing.T) {
	deepXML := "<plist version=\"1.0\">" + strings.Repeat("<array>", 100000) + strings.Repeat("</array>", 100000) + "</plist>"
	deepText := strings.Repeat("(", 100000) + strings.Repeat(")", 100000)
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"xml 100000 deep":      {[]byte(deepXML), ErrTooDeep},
		"openstep 100000 deep": {[]byte(deepText), ErrTooDeep},
		"binary 100000 deep":   {deepBinary(100000, false), ErrTooDeep},
		"binary cycle":         {deepBinary(3, true), nil},
		"binary 50 deep":       {deepBinary(50, false), nil},
		"too large":            {make([]byte, MaxBytes+1), ErrTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			v, _, err := Decode(tc.b)
			switch {
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err %v, want %v", err, tc.want)
			case name == "binary cycle" && err == nil:
				t.Fatalf("a cycle decoded: %v", v)
			case name == "binary 50 deep" && err != nil:
				t.Fatal(err)
			}
		})
	}
}

func TestDictLookups(t *testing.T) {
	v, _, err := Decode(encode(t, infoPlist(), hplist.BinaryFormat))
	if err != nil {
		t.Fatal(err)
	}
	d := AsDict(v)
	if d.String("CFBundleIdentifier") != "com.skype.skype" || d.String("UIDeviceFamily") != "" ||
		strings.Join(d.Strings("CFBundleLocalizations"), ",") != "en,zh_CN,ja" || d.Dict("NSAppTransportSecurity") == nil ||
		d.String("Date") != "2013-11-05T08:00:00Z" || d.String("Negative") != "-7" {
		t.Errorf("lookups: %v", d)
	}
	if AsDict([]any{}) != nil || d.Dict("CFBundleIdentifier") != nil {
		t.Error("wrong types must give nil")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("<plist><dict><key>a</key><string>b</string></dict></plist>"))
	f.Add(deepBinary(3, true))
	f.Add(deepBinary(5, false))
	f.Add([]byte("{a=(b,c);}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = Decode(b)
	})
}

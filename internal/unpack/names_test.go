package unpack

import (
	"strings"
	"testing"
)

func TestVetName(t *testing.T) {
	for _, tc := range []struct {
		raw, clean string
		unsafe     bool
	}{
		{"app/Skype.exe", "app/Skype.exe", false},
		{`app\Tom\ContentFilter.exe`, "app/Tom/ContentFilter.exe", false},
		{"../../etc/passwd", "etc/passwd", true},
		{"/abs/x", "abs/x", true},
		{`C:\Windows\x.dll`, "Windows/x.dll", true},
		{`\\?\C:\x`, "x", true},
		{"NUL.txt", "_NUL.txt", true},
		{"a/com1", "a/_com1", true},
		{"..", "_unnamed", true},
		{"bad\xffname", "bad\uFFFDname", true},
	} {
		clean, why := VetName(tc.raw)
		if clean != tc.clean || (why != "") != tc.unsafe {
			t.Errorf("VetName(%q) = %q, %q; want %q, unsafe %v", tc.raw, clean, why, tc.clean, tc.unsafe)
		}
	}
}

func FuzzVetName(f *testing.F) {
	for _, s := range []string{"a/b", "../x", `C:\y`, "CON", "//srv/share", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		clean, _ := VetName(raw)
		for _, p := range strings.Split(clean, "/") {
			if p == ".." || p == "" || p == "." {
				t.Fatalf("VetName(%q) = %q keeps an unsafe element", raw, clean)
			}
		}
		if strings.ContainsAny(clean, "\\\x00") || (len(clean) > 1 && clean[1] == ':' && isLetter(clean[0]) && strings.HasPrefix(raw, clean[:2])) {
			t.Fatalf("VetName(%q) = %q", raw, clean)
		}
	})
}

const sltSample = `
7-Zip [64] 26.02 : Copyright (c) 1999-2026 Igor Pavlov : 2026-06-25

Listing archive: t.exe

--
Path = t.exe
Type = Nsis
Method = LZMA:23
Solid = +

----------
Path = a.txt
Size = 6
Method = LZMA:23

Path = $PLUGINSDIR/System.dll
Size = 
Folder = -

Path = sub
Folder = +
`

func TestParseSLT(t *testing.T) {
	a, items := ParseSLT([]byte(sltSample))
	if a["Type"] != "Nsis" || a["Path"] != "t.exe" || len(items) != 3 {
		t.Fatalf("archive %v items %v", a, items)
	}
	if items[0].Size() != 6 || items[1].Size() != -1 || items[1]["Path"] != "$PLUGINSDIR/System.dll" || !items[2].IsDir() || items[0].IsDir() {
		t.Errorf("items %v", items)
	}
}

func FuzzParseSLT(f *testing.F) {
	f.Add([]byte(sltSample))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, items := ParseSLT(b)
		for _, it := range items {
			if it["Path"] == "" {
				t.Fatal("item without a path")
			}
			it.Size()
		}
	})
}

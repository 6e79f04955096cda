package inno

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/corpus/gen"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// hostileInstaller writes an installer (our Inno writer, data 5.5.0u)
// whose destinations climb out of {app}.
func hostileInstaller(t *testing.T) []byte {
	t.Helper()
	unpacktest.Tool(t, "i686-w64-mingw32-gcc")
	s := &gen.InnoSetup{
		Version: "5.5.0u", Codepage: 1252, LanguageName: "English", LanguageID: 0x409,
		AppName: "Evil", AppVersion: "1.0", AppPublisher: "Evil", AppID: "Evil",
		DefaultDirName: `{pf}\Evil`, DefaultGroupName: "Evil", Compression: "lzma",
		Dirs: []gen.InnoDir{{Name: `{app}\..\..\Windows\System32\drivers`}},
		Files: []gen.InnoFile{
			{Dest: `{app}\Skype.exe`, Data: []byte("MZ harmless")},
			{Dest: `{app}\..\..\Windows\System32\evil.dll`, Data: []byte("MZ evil")},
			{Dest: `{tmp}\..\startup.lnk`, Data: []byte("link")},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data, err := gen.InnoInstaller(ctx, t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestParentDirectoryDestinations: innoextract resolves "..", so the files
// it writes look harmless; the installer would write outside {app}: each
// such destination is an unsafe-name issue naming it, like an unsafe entry
// name of any other format. Cutting the installer short is truncated.
func TestParentDirectoryDestinations(t *testing.T) {
	unpacktest.Tool(t, "innoextract")
	data := hostileInstaller(t)
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var unsafe []string
	for _, is := range res.Issues {
		if strings.HasPrefix(is, "unsafe-name: ") {
			unsafe = append(unsafe, is)
		} else {
			t.Errorf("unexpected issue %s", is)
		}
	}
	for _, want := range []string{`{app}\\..\\..\\Windows\\System32\\evil.dll`, `{tmp}\\..\\startup.lnk`, `{app}\\..\\..\\Windows\\System32\\drivers`} {
		if !slices.ContainsFunc(unsafe, func(s string) bool {
			return strings.Contains(s, want) && strings.Contains(s, "parent-directory element")
		}) {
			t.Errorf("no unsafe-name issue for %s in %v", want, unsafe)
		}
	}
	if len(unsafe) != 3 {
		t.Errorf("%d unsafe-name issues, want 3: %v", len(unsafe), unsafe)
	}
	// innoextract's names: what tomscan lists as children.
	if names := res.Names(); !slices.Contains(names, "app/Skype.exe") || len(names) != 3 {
		t.Errorf("children %v", names)
	}
	for _, cut := range []int{1, 32, 64} {
		res := unpacktest.Run(t, Extractor{}, data[:len(data)-cut], unpacktest.Options{})
		if !slices.ContainsFunc(res.Issues, func(s string) bool { return strings.HasPrefix(s, "truncated: ") }) {
			t.Errorf("cut by %d: issues %v: no truncated issue", cut, res.Issues)
		}
	}
}

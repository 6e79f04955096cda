package gen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// pendingInstaller is an installer's ground truth until the build knows
// which node holds it (identified by the installer's final bytes).
type pendingInstaller struct {
	sha256 string
	gt     *InstallerGT
}

func (s *Spec) innoVersion() string {
	if s.InnoVersion != "" {
		return s.InnoVersion
	}
	return "5.5.0u"
}

// innoScript is the installer script a vendor of the era would have
// written for this build: the files into {app}, a shortcut, a Run key that
// starts the client at logon, and for TOM builds with the filter, a Run key
// and an install step for ContentFilter.exe.
func (b *builder) innoScript(entries []Entry) (*InnoSetup, error) {
	s := b.spec
	id := b.identity()
	v := innoVersions[s.innoVersion()]
	product := b.productName()
	client := s.clientName()
	st := &InnoSetup{
		Version: s.innoVersion(), Codepage: 1252, LanguageName: "English", LanguageID: 0x409,
		AppName: product, AppVersion: s.Version, AppPublisher: id.company, AppID: product,
		DefaultDirName:   `{pf}\` + strings.ReplaceAll(s.installDir(), "/", `\`),
		DefaultGroupName: product, Compression: "lzma",
	}
	if s.Language == "zh" {
		st.Codepage, st.LanguageName, st.LanguageID = 936, "简体中文", 0x804
	}
	if !v.unicode && v.below(5, 2, 0) {
		st.Compression = "zlib" // the 5.1 era's installers mostly kept zlib
	}
	hasData := false
	for _, e := range entries {
		if strings.HasPrefix(e.Name, "data/") {
			hasData = true
		}
		st.Files = append(st.Files, InnoFile{Dest: `{app}\` + strings.ReplaceAll(e.Name, "/", `\`), Data: e.Data, Flags: []string{"ignoreversion"}})
	}
	if hasData {
		st.Dirs = append(st.Dirs, InnoDir{Name: `{app}\data`})
	}
	st.Dirs = append(st.Dirs, InnoDir{Name: `{userappdata}\` + product, Flags: []string{"uninsneveruninstall"}})
	app := `{app}\` + client
	st.Icons = []InnoIcon{
		{Name: `{group}\` + product, Filename: app, WorkingDir: "{app}", Comment: id.description},
		{Name: `{commondesktop}\` + product, Filename: app, WorkingDir: "{app}", Comment: id.description},
		{Name: `{group}\Uninstall ` + product, Filename: "{uninstallexe}"},
	}
	st.Registry = []InnoRegistry{
		{Root: "HKLM", Subkey: `Software\Skype\Phone`, ValueName: "SkypePath", ValueType: "string", ValueData: app, Flags: []string{"uninsdeletekey"}},
		{Root: "HKCU", Subkey: `Software\Microsoft\Windows\CurrentVersion\Run`, ValueName: "Skype", ValueType: "string",
			ValueData: `"` + app + `" /nosplash /minimized`, Flags: []string{"uninsdeletevalue"}},
	}
	if s.isTOM() {
		st.Registry = append(st.Registry,
			InnoRegistry{Root: "HKLM", Subkey: `Software\TOM\Skype`, ValueName: "Version", ValueType: "string", ValueData: s.Version, Flags: []string{"uninsdeletekey"}},
			InnoRegistry{Root: "HKLM", Subkey: `Software\TOM\Skype`, ValueName: "Language", ValueType: "dword", ValueData: fmt.Sprint(b.langID())})
	}
	if s.ContentFilter {
		cf := `{app}\ContentFilter.exe`
		st.Registry = append(st.Registry, InnoRegistry{Root: "HKLM", Subkey: `Software\Microsoft\Windows\CurrentVersion\Run`,
			ValueName: "TOMContentFilter", ValueType: "string", ValueData: `"` + cf + `" /background`, Flags: []string{"uninsdeletevalue"}})
		msg := "Installing Tom Word Review..."
		if s.Language == "zh" {
			msg = "正在安装内容过滤组件..."
		}
		st.Run = append(st.Run, InnoRun{Filename: cf, Parameters: "/install", WorkingDir: "{app}", StatusMsg: msg, Wait: "waituntilterminated", ShowCmd: 0})
	}
	st.Run = append(st.Run, InnoRun{Filename: app, Parameters: "/installed", Description: "Launch " + product,
		Wait: "nowait", ShowCmd: 1, Flags: []string{"postinstall", "skipifsilent"}})
	return st, nil
}

// makeInno writes an Inno Setup installer: a 32-bit loader built with the
// corpus's mingw-w64 machinery, carrying the offset table, then setup-0 and
// setup-1. Children are named as innoextract names them ("app/Skype.exe").
func (b *builder) makeInno(ctx context.Context, dir, out string, entries []Entry) ([]Entry, error) {
	script, err := b.innoScript(entries)
	if err != nil {
		return nil, err
	}
	built, err := script.build()
	if err != nil {
		return nil, fmt.Errorf("wrap inno: %w", err)
	}
	stub, err := b.innoLoader(ctx, filepath.Join(dir, "loader"), built.v)
	if err != nil {
		return nil, err
	}
	data, err := built.assemble(stub)
	if err != nil {
		return nil, fmt.Errorf("wrap inno: %w", err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return nil, fmt.Errorf("wrap inno: %w", err)
	}
	gt, err := script.groundTruth()
	if err != nil {
		return nil, fmt.Errorf("wrap inno: %w", err)
	}
	b.pendingInstallers = append(b.pendingInstallers, pendingInstaller{gt: gt})
	children := make([]Entry, len(entries))
	for i, e := range entries {
		children[i] = e
		children[i].Name = innoPath(script.Files[i].Dest)
	}
	return children, nil
}

// innoLoader compiles the loader stub. Inno's SetupLdr is always 32-bit;
// from 5.1.5 on it carries the offset table as RCDATA 11111.
func (b *builder) innoLoader(ctx context.Context, dir string, v innoVer) ([]byte, error) {
	id := b.identity()
	p := &peDesc{
		fileName: "SkypeSetup.exe", arch: "x86", textMode: b.textMode(), langID: b.langID(),
		version: b.spec.Version, company: b.companyASCII(), product: b.productName(),
		description: b.productName() + " Setup", copyright: id.copyright,
		internalName: "setup", strings: []string{"Setup", "This program is the setup loader of an Inno Setup installer."},
	}
	if v.atLeast(5, 1, 5) {
		p.rcdataNeutral = map[int][]byte{11111: innoPlaceholderTable()}
	}
	return p.compile(ctx, dir)
}

// InnoInstaller builds an Inno Setup installer from s on a loader stub
// compiled with mingw-w64 in dir (a scratch folder): for tests and the
// hostile generator, which need installers whose script says what they
// want (a "{app}\..\..\x" destination, say) without a corpus spec.
func InnoInstaller(ctx context.Context, dir string, s *InnoSetup) ([]byte, error) {
	built, err := s.build()
	if err != nil {
		return nil, fmt.Errorf("inno installer: %w", err)
	}
	p := &peDesc{fileName: "setup.exe", arch: "x86", textMode: "gbk", langID: 0x409, version: "1.0.0.0",
		company: "Test", product: "Test", description: "Test Setup", copyright: "(c)", internalName: "setup", strings: []string{"Setup"}}
	if built.v.atLeast(5, 1, 5) {
		p.rcdataNeutral = map[int][]byte{11111: innoPlaceholderTable()}
	}
	stub, err := p.compile(ctx, filepath.Join(dir, "loader"))
	if err != nil {
		return nil, fmt.Errorf("inno installer: %w", err)
	}
	return built.assemble(stub)
}

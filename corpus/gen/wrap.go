package gen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Entry is one file in a build's tree, named as the unpacker names it
// (docs/contracts.md, node names). Name may contain "/" for archive paths.
type Entry struct {
	Name string
	Data []byte
	Role string
	// Tag is the payload name the entry had before wrappers renamed it.
	Tag      string
	Children []Entry
}

// innerName is the file name a wrapper's output gets when another wrapper
// holds it.
func innerName(w string) string {
	switch w {
	case "nsis", "inno", "7z-sfx", "append-zip", "append-7z":
		return "SkypeSetup.exe"
	case "msi":
		return "SkypeSetup.msi"
	case "cab":
		return "Skype.cab"
	case "zip":
		return "SkypeSetup.zip"
	case "7z", "7z-encrypted":
		return "SkypeSetup.7z"
	case "zip-infected":
		return "SkypeSetup.zip"
	case "tar", "tar.gz", "tar.xz":
		return "SkypeSetup." + w
	case "ipa": // written by ipa.go, never wrapped: named for its extension
		return "Skype.ipa"
	}
	return "payload.bin"
}

// Extension is the build file's extension for an outermost wrapper.
func Extension(w string) string {
	if _, ok := tarWrappers[w]; ok {
		return "." + w
	}
	return path.Ext(innerName(w))
}

var fixedTime = time.Unix(fixedEpoch, 0).UTC()

// stage writes entries under dir with fixed times and modes, so that archive
// tools record the same metadata every run.
func stage(dir string, entries []Entry) ([]string, error) {
	var names []string
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(e.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
		if err := os.WriteFile(p, e.Data, 0o644); err != nil {
			return nil, fmt.Errorf("stage: write %s: %w", e.Name, err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
		if err := os.Chtimes(p, fixedTime, fixedTime); err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
		names = append(names, e.Name)
	}
	// Directories too: some tools record them.
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			_ = os.Chmod(p, 0o755)
			_ = os.Chtimes(p, fixedTime, fixedTime)
		}
		return nil
	})
	sort.Strings(names)
	return names, nil
}

func (b *builder) scratchFor(what string, level int) (string, error) {
	d := filepath.Join(b.work, fmt.Sprintf("%d-%s", level, what))
	if err := os.RemoveAll(d); err != nil {
		return "", fmt.Errorf("scratch: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(d, "in"), 0o755); err != nil {
		return "", fmt.Errorf("scratch: %w", err)
	}
	return d, nil
}

// wrap applies wrappers[level:] to entries, innermost last, and returns the
// outermost container's bytes and its children.
func (b *builder) wrap(ctx context.Context, wrappers []string, entries []Entry) ([]byte, []Entry, error) {
	if len(wrappers) == 0 {
		return nil, nil, fmt.Errorf("wrap: nothing to wrap with")
	}
	level := len(wrappers) - 1
	data, children, err := b.wrapOne(ctx, wrappers[level], level, level == 0, entries)
	if err != nil {
		return nil, nil, err
	}
	for level--; level >= 0; level-- {
		inner := Entry{Name: innerName(wrappers[level+1]), Data: data, Role: "other", Children: children}
		data, children, err = b.wrapOne(ctx, wrappers[level], level, level == 0, []Entry{inner})
		if err != nil {
			return nil, nil, err
		}
	}
	return data, children, nil
}

func (b *builder) wrapOne(ctx context.Context, w string, level int, outermost bool, entries []Entry) ([]byte, []Entry, error) {
	dir, err := b.scratchFor(w, level)
	if err != nil {
		return nil, nil, err
	}
	in := filepath.Join(dir, "in")
	names, err := stage(in, entries)
	if err != nil {
		return nil, nil, err
	}
	out := filepath.Join(dir, "out"+Extension(w))
	var children []Entry
	switch w {
	case "zip":
		args := append([]string{"-X", "-D", "-q", "-9", out}, names...)
		if _, err := run(ctx, in, nil, "zip", args...); err != nil {
			return nil, nil, fmt.Errorf("wrap zip: %w", err)
		}
		children = entries
	case "7z":
		if err := make7z(ctx, in, out, names); err != nil {
			return nil, nil, err
		}
		children = entries
	case "cab":
		args := append([]string{"-c", "-z", out}, names...)
		if _, err := run(ctx, in, nil, "gcab", args...); err != nil {
			return nil, nil, fmt.Errorf("wrap cab: %w", err)
		}
		children = entries
	case "nsis":
		if err := b.makeNSIS(ctx, dir, out, names); err != nil {
			return nil, nil, err
		}
		children = entries
	case "msi":
		children, err = b.makeMSI(ctx, dir, out, entries)
		if err != nil {
			return nil, nil, err
		}
	case "inno":
		children, err = b.makeInno(ctx, dir, out, entries)
		if err != nil {
			return nil, nil, err
		}
	case "tar", "tar.gz", "tar.xz":
		children, err = b.makeTarball(ctx, w, dir, out, outermost, names, entries)
		if err != nil {
			return nil, nil, err
		}
	case "zip-infected":
		if err := makeZipCrypto(entries, out); err != nil {
			return nil, nil, err
		}
		children = entries
	case "7z-encrypted":
		if err := make7zEncrypted(ctx, in, out, names); err != nil {
			return nil, nil, err
		}
		children = entries
	case "append-zip", "append-7z", "7z-sfx":
		return b.makeSelfExtractor(ctx, w, dir, names, entries)
	default:
		return nil, nil, fmt.Errorf("wrap: unknown wrapper %q", w)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, nil, fmt.Errorf("wrap %s: read: %w", w, err)
	}
	// Installers that are PEs or MSIs get the build's signature; CAB/ZIP/7z do not.
	if b.spec.Signer != "" && (w == "nsis" || w == "msi" || w == "inno") {
		data, err = sign(ctx, b.certDir, filepath.Join(dir, "sign"), b.spec.Signer, b.productName()+" Setup", data, Extension(w))
		if err != nil {
			return nil, nil, err
		}
	}
	if w == "inno" {
		// Known only now, after signing: the bytes that carry these tables.
		b.pendingInstallers[len(b.pendingInstallers)-1].sha256 = sha256Hex(data)
	}
	return data, children, nil
}

func make7z(ctx context.Context, in, out string, names []string) error {
	// One thread and no access/creation times: same bytes every run.
	args := append([]string{"a", "-t7z", "-bd", "-y", "-mx=5", "-mmt=1", "-mtc=off", "-mta=off", "-mtm=on", out}, names...)
	if _, err := run(ctx, in, nil, "7z", args...); err != nil {
		return fmt.Errorf("wrap 7z: %w", err)
	}
	return nil
}

func (b *builder) makeNSIS(ctx context.Context, dir, out string, names []string) error {
	var s strings.Builder
	s.WriteString("Unicode true\n")
	if b.spec.Arch == "x64" {
		s.WriteString("Target amd64-unicode\n")
	}
	s.WriteString("SetCompressor /SOLID lzma\n")
	fmt.Fprintf(&s, "Name \"%s\"\nOutFile \"%s\"\nInstallDir \"$PROGRAMFILES\\%s\"\nRequestExecutionLevel admin\n",
		b.productName(), out, strings.ReplaceAll(b.spec.installDir(), "/", "\\"))
	fmt.Fprintf(&s, "VIProductVersion \"%s\"\nVIAddVersionKey \"ProductName\" \"%s\"\nVIAddVersionKey \"CompanyName\" \"%s\"\nVIAddVersionKey \"FileVersion\" \"%s\"\nVIAddVersionKey \"FileDescription\" \"%s Setup\"\n",
		b.spec.Version, b.productName(), b.companyASCII(), b.spec.Version, b.productName())
	s.WriteString("Page directory\nPage instfiles\nSection \"Main\"\n")
	byDir := map[string][]string{}
	var dirs []string
	for _, n := range names {
		d := path.Dir(n)
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], n)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if d == "." {
			s.WriteString("  SetOutPath \"$INSTDIR\"\n")
		} else {
			fmt.Fprintf(&s, "  SetOutPath \"$INSTDIR\\%s\"\n", strings.ReplaceAll(d, "/", "\\"))
		}
		for _, n := range byDir[d] {
			fmt.Fprintf(&s, "  File \"in\\%s\"\n", strings.ReplaceAll(n, "/", "\\"))
		}
	}
	s.WriteString("SectionEnd\n")
	nsi := filepath.Join(dir, "setup.nsi")
	if err := os.WriteFile(nsi, []byte(s.String()), 0o644); err != nil {
		return fmt.Errorf("wrap nsis: %w", err)
	}
	if _, err := run(ctx, dir, nil, "makensis", "-V1", "-INPUTCHARSET", "UTF8", "-NOCD", "setup.nsi"); err != nil {
		return fmt.Errorf("wrap nsis: %w", err)
	}
	return nil
}

// guid makes a stable GUID from a label (MSI product, package, component codes).
func guid(label string) string {
	h := sha256.Sum256([]byte("tomscan-corpus-guid/" + label))
	return fmt.Sprintf("%X-%X-%X-%X-%X", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}

// makeMSI writes a WiX source with every entry under Program Files/<install
// dir>/ and builds it with wixl, cabinet embedded. The children are named as
// msiextract names them.
func (b *builder) makeMSI(ctx context.Context, dir, out string, entries []Entry) ([]Entry, error) {
	type msiFile struct {
		name string // file name in its MSI directory
		src  string // staged path under in/
	}
	type dirNode struct {
		name  string
		files []msiFile
		subs  map[string]*dirNode
	}
	root := &dirNode{subs: map[string]*dirNode{}}
	installParts := strings.Split(b.spec.installDir(), "/")
	var children []Entry
	for _, e := range entries {
		parts := append(append([]string{}, installParts...), strings.Split(e.Name, "/")...)
		n := root
		for _, p := range parts[:len(parts)-1] {
			if n.subs[p] == nil {
				n.subs[p] = &dirNode{name: p, subs: map[string]*dirNode{}}
			}
			n = n.subs[p]
		}
		n.files = append(n.files, msiFile{name: parts[len(parts)-1], src: e.Name})
		child := e
		child.Name = "Program Files/" + strings.Join(parts, "/")
		children = append(children, child)
	}
	var x strings.Builder
	id := b.spec.ID
	fmt.Fprintf(&x, `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="%s" Name="%s" Language="1033" Version="%s" Manufacturer="%s" UpgradeCode="%s">
    <Package Id="%s" InstallerVersion="200" Compressed="yes" Description="%s Setup" Manufacturer="%s"/>
    <Media Id="1" Cabinet="skype.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFilesFolder" Name="PFiles">
`, guid(id+"/product"), xmlEscape(b.productName()), b.spec.Version, xmlEscape(b.companyASCII()),
		guid(b.productName()+"/upgrade"), guid(id+"/package"), xmlEscape(b.productName()), xmlEscape(b.companyASCII()))
	var comps []string
	counter := 0
	var emit func(n *dirNode, depth int)
	emit = func(n *dirNode, depth int) {
		ind := strings.Repeat("  ", depth)
		var keys []string
		for k := range n.subs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := n.subs[k]
			counter++
			fmt.Fprintf(&x, "%s<Directory Id=\"D%d\" Name=\"%s\">\n", ind, counter, xmlEscape(sub.name))
			for _, f := range sub.files {
				counter++
				cid := fmt.Sprintf("C%d", counter)
				comps = append(comps, cid)
				fmt.Fprintf(&x, "%s  <Component Id=\"%s\" Guid=\"%s\">\n%s    <File Id=\"F%d\" Name=\"%s\" Source=\"in/%s\" KeyPath=\"yes\"/>\n%s  </Component>\n",
					ind, cid, guid(id+"/"+f.src), ind, counter, xmlEscape(f.name), xmlEscape(f.src), ind)
			}
			emit(sub, depth+1)
			fmt.Fprintf(&x, "%s</Directory>\n", ind)
		}
	}
	emit(root, 4)
	x.WriteString("      </Directory>\n    </Directory>\n    <Feature Id=\"Main\" Level=\"1\">\n")
	for _, c := range comps {
		fmt.Fprintf(&x, "      <ComponentRef Id=\"%s\"/>\n", c)
	}
	x.WriteString("    </Feature>\n  </Product>\n</Wix>\n")
	wxs := filepath.Join(dir, "setup.wxs")
	if err := os.WriteFile(wxs, []byte(x.String()), 0o644); err != nil {
		return nil, fmt.Errorf("wrap msi: %w", err)
	}
	if _, err := run(ctx, dir, nil, "wixl", "-o", out, "setup.wxs"); err != nil {
		return nil, fmt.Errorf("wrap msi: %w", err)
	}
	if err := fixMSISummary(ctx, dir, out, guid(id+"/revision")); err != nil {
		return nil, err
	}
	sort.Slice(children, func(i, j int) bool { return children[i].Name < children[j].Name })
	return children, nil
}

var revisionLine = regexp.MustCompile(`Revision number \(UUID\): (\{[0-9A-Fa-f-]{36}\})`)

// fixMSISummary makes wixl's output reproducible: wixl writes a random
// revision UUID and the current time into SummaryInformation whatever
// SOURCE_DATE_EPOCH says. Both have fixed lengths, so they are patched in
// place, then checked with msiinfo.
func fixMSISummary(ctx context.Context, dir, msi, revision string) error {
	info, err := run(ctx, dir, nil, "msiinfo", "suminfo", msi)
	if err != nil {
		return fmt.Errorf("msi summary: %w", err)
	}
	m := revisionLine.FindSubmatch(info)
	if m == nil {
		return fmt.Errorf("msi summary: no revision UUID in msiinfo output")
	}
	data, err := os.ReadFile(msi)
	if err != nil {
		return fmt.Errorf("msi summary: %w", err)
	}
	if bytes.Count(data, m[1]) != 1 {
		return fmt.Errorf("msi summary: revision UUID found %d times", bytes.Count(data, m[1]))
	}
	data = bytes.Replace(data, m[1], []byte("{"+revision+"}"), 1)
	// VT_FILETIME properties: type 0x40, then 8 bytes of 100 ns since 1601.
	now := time.Now()
	lo, hi := toFiletime(now.Add(-24*time.Hour)), toFiletime(now.Add(24*time.Hour))
	fixed := toFiletime(fixedTime)
	patched := 0
	for i := 0; i+12 <= len(data); i++ {
		if binary.LittleEndian.Uint32(data[i:]) != 0x40 {
			continue
		}
		ft := binary.LittleEndian.Uint64(data[i+4:])
		if ft >= lo && ft <= hi {
			binary.LittleEndian.PutUint64(data[i+4:], fixed)
			patched++
		}
	}
	if patched == 0 {
		return fmt.Errorf("msi summary: no current time found to fix")
	}
	if err := os.WriteFile(msi, data, 0o644); err != nil {
		return fmt.Errorf("msi summary: %w", err)
	}
	info, err = run(ctx, dir, nil, "msiinfo", "suminfo", msi)
	if err != nil {
		return fmt.Errorf("msi summary: after patch: %w", err)
	}
	if !bytes.Contains(info, []byte(revision)) || !bytes.Contains(info, []byte("2011")) {
		return fmt.Errorf("msi summary: patch did not take: %s", info)
	}
	return nil
}

func toFiletime(t time.Time) uint64 {
	return uint64(t.Unix()+11644473600)*10000000 + uint64(t.Nanosecond()/100)
}

// makeSelfExtractor concatenates a stub PE and an archive, the way
// self-extracting installers are laid out: the archive is the PE's overlay.
func (b *builder) makeSelfExtractor(ctx context.Context, w, dir string, names []string, entries []Entry) ([]byte, []Entry, error) {
	in := filepath.Join(dir, "in")
	var stub, archive []byte
	var err error
	switch w {
	case "7z-sfx":
		stub, err = b.sfxModule(ctx)
		if err != nil {
			return nil, nil, err
		}
	default:
		stub, err = b.stubPE(ctx, filepath.Join(dir, "stub"))
		if err != nil {
			return nil, nil, err
		}
	}
	arc := filepath.Join(dir, "overlay.bin")
	if w == "append-zip" {
		arc += ".zip"
		if _, err := run(ctx, in, nil, "zip", append([]string{"-X", "-D", "-q", "-9", arc}, names...)...); err != nil {
			return nil, nil, fmt.Errorf("wrap %s: %w", w, err)
		}
	} else {
		arc += ".7z"
		if err := make7z(ctx, in, arc, names); err != nil {
			return nil, nil, err
		}
	}
	archive, err = os.ReadFile(arc)
	if err != nil {
		return nil, nil, fmt.Errorf("wrap %s: %w", w, err)
	}
	data := append(append([]byte{}, stub...), archive...)
	return data, []Entry{{Name: "[overlay]", Data: archive, Role: "other", Children: entries}}, nil
}

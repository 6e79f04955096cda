package gen

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// cField is one member of the static config struct a client keeps in .rdata.
// Real clients of the era kept URLs and keys side by side like this.
type cField struct {
	name  string
	ascii string // char[] member
	wide  string // wchar_t[] member (UTF-16LE in the PE)
	raw   []byte // unsigned char[] member
}

// peDesc describes one PE to compile: identity resources, strings and data.
type peDesc struct {
	fileName string
	arch     string // x86 | x64
	dll      bool
	// textMode is how non-ASCII resource text is written: "gbk" or "utf16".
	textMode                                               string
	langID                                                 uint16 // 0x409 en-US, 0x804 zh-CN
	version                                                string // a.b.c.d
	company, product, description, copyright, internalName string
	aboutCaption, aboutText                                string
	strings                                                []string // STRINGTABLE, ids 1000..
	rcdata                                                 [][]byte // RCDATA, ids 300..
	// rcdataNeutral are RCDATA resources by id in the neutral language, as
	// installer loaders keep their tables (Inno Setup: 11111).
	rcdataNeutral map[int][]byte
	config        []cField // static const struct in .rdata
}

func (p *peDesc) compilerPrefix() string {
	if p.arch == "x64" {
		return "x86_64-w64-mingw32-"
	}
	return "i686-w64-mingw32-"
}

// rcString quotes s for a .rc file. ASCII goes as is; other text goes as GBK
// bytes under #pragma code_page(936), or as L"\x...." UTF-16 escapes.
func (p *peDesc) rcString(s string) (string, error) {
	ascii := true
	for _, r := range s {
		if r >= 0x80 {
			ascii = false
		}
		if r == '"' || r == '\\' || r < 0x20 {
			return "", fmt.Errorf("rc string %q: quotes, backslashes and control characters are not supported", s)
		}
	}
	if ascii {
		return `"` + s + `"`, nil
	}
	if p.textMode == "utf16" {
		var b strings.Builder
		b.WriteString(`L"`)
		for _, u := range utf16.Encode([]rune(s)) {
			fmt.Fprintf(&b, `\x%04x`, u)
		}
		b.WriteString(`"`)
		return b.String(), nil
	}
	g, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		return "", fmt.Errorf("rc string %q: not GBK: %w", s, err)
	}
	return `"` + g + `"`, nil
}

func (p *peDesc) versionCommas() string { return strings.ReplaceAll(p.version, ".", ",") }

func (p *peDesc) rcSource(dir string) (string, error) {
	var b strings.Builder
	if p.textMode == "gbk" {
		// windres reads the narrow strings below as code page 936 (GBK).
		b.WriteString("#pragma code_page(936)\n")
	}
	// winresrc.h has every constant a .rc needs and preprocesses much faster.
	b.WriteString("#include <winresrc.h>\n\n")
	// q quotes for the .rc file; the first failure is kept and returned.
	var err error
	q := func(s string) string {
		out, qerr := p.rcString(s)
		if qerr != nil && err == nil {
			err = fmt.Errorf("%s: %w", p.fileName, qerr)
		}
		return out
	}
	lang := fmt.Sprintf("%04x04b0", p.langID)
	fmt.Fprintf(&b, "LANGUAGE %d, %d\n\n", p.langID&0x3ff, p.langID>>10)
	fileType := "VFT_APP"
	if p.dll {
		fileType = "VFT_DLL"
	}
	fmt.Fprintf(&b, "1 VERSIONINFO\nFILEVERSION %s\nPRODUCTVERSION %s\nFILEFLAGSMASK 0x3f\nFILEFLAGS 0\nFILEOS VOS_NT_WINDOWS32\nFILETYPE %s\nFILESUBTYPE 0\nBEGIN\n  BLOCK \"StringFileInfo\"\n  BEGIN\n    BLOCK %q\n    BEGIN\n",
		p.versionCommas(), p.versionCommas(), fileType, lang)
	for _, kv := range [][2]string{
		{"CompanyName", p.company}, {"FileDescription", p.description}, {"FileVersion", p.version},
		{"InternalName", p.internalName}, {"LegalCopyright", p.copyright},
		{"OriginalFilename", p.fileName}, {"ProductName", p.product}, {"ProductVersion", p.version},
	} {
		fmt.Fprintf(&b, "      VALUE %q, %s\n", kv[0], q(kv[1]))
	}
	fmt.Fprintf(&b, "    END\n  END\n  BLOCK \"VarFileInfo\"\n  BEGIN\n    VALUE \"Translation\", 0x%x, 1200\n  END\nEND\n\n", p.langID)
	if p.aboutCaption != "" {
		fmt.Fprintf(&b, "100 DIALOGEX 0, 0, 260, 120\nSTYLE DS_MODALFRAME | WS_POPUP | WS_CAPTION | WS_SYSMENU\nCAPTION %s\nFONT 9, \"MS Shell Dlg\"\nBEGIN\n  LTEXT %s, -1, 10, 10, 240, 70\n  DEFPUSHBUTTON \"OK\", IDOK, 105, 95, 50, 14\nEND\n\n",
			q(p.aboutCaption), q(p.aboutText))
	}
	if len(p.strings) > 0 {
		b.WriteString("STRINGTABLE\nBEGIN\n")
		for i, s := range p.strings {
			fmt.Fprintf(&b, "  %d, %s\n", 1000+i, q(s))
		}
		b.WriteString("END\n\n")
	}
	for i, data := range p.rcdata {
		name := fmt.Sprintf("rcdata%d.bin", i)
		if werr := os.WriteFile(filepath.Join(dir, name), data, 0o644); werr != nil {
			return "", fmt.Errorf("pe: write %s: %w", name, werr)
		}
		fmt.Fprintf(&b, "%d RCDATA %q\n", 300+i, name)
	}
	if len(p.rcdataNeutral) > 0 {
		b.WriteString("\nLANGUAGE 0, 0\n")
		ids := make([]int, 0, len(p.rcdataNeutral))
		for id := range p.rcdataNeutral {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		for _, id := range ids {
			name := fmt.Sprintf("rcdata-id%d.bin", id)
			if werr := os.WriteFile(filepath.Join(dir, name), p.rcdataNeutral[id], 0o644); werr != nil {
				return "", fmt.Errorf("pe: write %s: %w", name, werr)
			}
			fmt.Fprintf(&b, "%d RCDATA %q\n", id, name)
		}
	}
	return b.String(), err
}

func cByteList(data []byte) string {
	parts := make([]string, len(data))
	for i, c := range data {
		parts[i] = fmt.Sprintf("0x%02x", c)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func (p *peDesc) cSource() string {
	var b strings.Builder
	b.WriteString("#define WIN32_LEAN_AND_MEAN\n#include <windows.h>\n#include <wchar.h>\n\n")
	if len(p.config) > 0 {
		b.WriteString("/* Static configuration, as the era's clients kept it in .rdata. */\nstruct client_config {\n")
		for _, f := range p.config {
			switch {
			case f.raw != nil:
				fmt.Fprintf(&b, "  unsigned char %s[%d];\n", f.name, len(f.raw))
			case f.wide != "":
				fmt.Fprintf(&b, "  wchar_t %s[%d];\n", f.name, len(f.wide)+1)
			default:
				fmt.Fprintf(&b, "  char %s[%d];\n", f.name, len(f.ascii)+1)
			}
		}
		// A zeroed tail, as real config blocks end in reserved space.
		b.WriteString("  unsigned char reserved[16];\n};\n\n__attribute__((used)) static const struct client_config config = {\n")
		for _, f := range p.config {
			switch {
			case f.raw != nil:
				fmt.Fprintf(&b, "  %s,\n", cByteList(f.raw))
			case f.wide != "":
				fmt.Fprintf(&b, "  L%q,\n", f.wide)
			default:
				fmt.Fprintf(&b, "  %q,\n", f.ascii)
			}
		}
		b.WriteString("  {0},\n};\n\n")
	}
	b.WriteString(`
static INT_PTR CALLBACK about_proc(HWND dlg, UINT msg, WPARAM wp, LPARAM lp) {
  (void)lp;
  if (msg == WM_COMMAND && LOWORD(wp) == IDOK) { EndDialog(dlg, 0); return TRUE; }
  return FALSE;
}

/* Never run: the corpus only needs a well-formed PE whose data is referenced. */
static int client_main(HINSTANCE inst) {
  wchar_t text[256];
  LoadStringW(inst, 1000, text, 256);
  if (text[0] == 0) return 1;
  volatile const void *keep = `)
	if len(p.config) > 0 {
		b.WriteString("&config;\n")
	} else {
		b.WriteString("0;\n")
	}
	b.WriteString("  (void)keep;\n  return (int)DialogBoxParamW(inst, MAKEINTRESOURCEW(100), NULL, about_proc, 0);\n}\n\n")
	if p.dll {
		b.WriteString("BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved) {\n  (void)reserved;\n  if (reason == 0xFFFF) return client_main(inst);\n  return TRUE;\n}\n")
	} else {
		b.WriteString("int WINAPI WinMain(HINSTANCE inst, HINSTANCE prev, LPSTR cmd, int show) {\n  (void)prev; (void)cmd; (void)show;\n  return client_main(inst);\n}\n")
	}
	return b.String()
}

// compile builds the PE in dir (a fresh scratch folder) and returns its bytes.
func (p *peDesc) compile(ctx context.Context, dir string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pe %s: %w", p.fileName, err)
	}
	rc, err := p.rcSource(dir)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "res.rc"), []byte(rc), 0o644); err != nil {
		return nil, fmt.Errorf("pe %s: write rc: %w", p.fileName, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(p.cSource()), 0o644); err != nil {
		return nil, fmt.Errorf("pe %s: write c: %w", p.fileName, err)
	}
	pre := p.compilerPrefix()
	if _, err := run(ctx, dir, nil, pre+"windres", "-i", "res.rc", "-O", "coff", "-o", "res.o"); err != nil {
		return nil, fmt.Errorf("pe %s: windres: %w", p.fileName, err)
	}
	args := []string{"-O1", "-s", "-mwindows", "-fno-ident", "-ffile-prefix-map=" + dir + "=.",
		"-Wl,--no-insert-timestamp", "-Wl,--build-id=none", "main.c", "res.o", "-o", p.fileName, "-luser32"}
	if p.dll {
		args = append([]string{"-shared"}, args...)
	}
	if _, err := run(ctx, dir, nil, pre+"gcc", args...); err != nil {
		return nil, fmt.Errorf("pe %s: gcc: %w", p.fileName, err)
	}
	out, err := os.ReadFile(filepath.Join(dir, p.fileName))
	if err != nil {
		return nil, fmt.Errorf("pe %s: read output: %w", p.fileName, err)
	}
	// --no-insert-timestamp leaves 0; a real build of the era has a date.
	if !isPE(out) {
		return nil, fmt.Errorf("pe %s: compiler output is not a PE", p.fileName)
	}
	off := binary.LittleEndian.Uint32(out[0x3c:])
	binary.LittleEndian.PutUint32(out[off+8:], fixedEpoch)
	return out, nil
}

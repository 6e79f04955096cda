package pe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// vsBlock builds one VS_VERSIONINFO node: header, key, aligned value, aligned children.
func vsBlock(key string, valueType uint16, value []byte, valueLen uint16, children ...[]byte) []byte {
	var b bytes.Buffer
	b.Write(make([]byte, 6))
	for _, u := range utf16.Encode([]rune(key)) {
		binary.Write(&b, binary.LittleEndian, u)
	}
	b.Write([]byte{0, 0})
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.Write(value)
	for _, c := range children {
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.Write(c)
	}
	out := b.Bytes()
	binary.LittleEndian.PutUint16(out[0:], uint16(len(out)))
	binary.LittleEndian.PutUint16(out[2:], valueLen)
	binary.LittleEndian.PutUint16(out[4:], valueType)
	return out
}

func utf16z(s string) []byte {
	var b bytes.Buffer
	for _, u := range utf16.Encode([]rune(s)) {
		binary.Write(&b, binary.LittleEndian, u)
	}
	b.Write([]byte{0, 0})
	return b.Bytes()
}

// utf16zNoNul is s in UTF-16LE without a terminator, as string tables hold it.
func utf16zNoNul(s string) []byte { b := utf16z(s); return b[:len(b)-2] }

func TestDecodeVersion(t *testing.T) {
	fixed := make([]byte, 52)
	binary.LittleEndian.PutUint32(fixed, 0xFEEF04BD)
	binary.LittleEndian.PutUint32(fixed[8:], 5<<16|1)
	binary.LittleEndian.PutUint32(fixed[12:], 4<<16|10)
	str := func(k, v string, unitsInBytes bool) []byte {
		val := utf16z(v)
		n := uint16(len(val) / 2)
		if unitsInBytes {
			n = uint16(len(val)) // some compilers count bytes
		}
		return vsBlock(k, 1, val, n)
	}
	build := func(strs ...[]byte) []byte {
		return vsBlock("VS_VERSION_INFO", 0, fixed, 52,
			vsBlock("StringFileInfo", 1, nil, 0, vsBlock("080404b0", 1, nil, 0, strs...)))
	}
	tests := []struct {
		name string
		res  []byte
		want map[string]string
		err  bool
	}{
		{"CJK after ASCII (saferwall cuts it)", build(str("FileDescription", "A一号过滤器", false)), map[string]string{"FileDescription": "A一号过滤器"}, false},
		{"value length in bytes", build(str("CompanyName", "TOM在线", true), str("ProductName", "Skype", true)), map[string]string{"CompanyName": "TOM在线", "ProductName": "Skype"}, false},
		{"empty value", build(str("Comments", "", false)), map[string]string{"Comments": ""}, false},
		{"truncated mid-table", build(str("CompanyName", "TOM在线", false), str("ProductName", "Skype", false))[:210], map[string]string{"CompanyName": "TOM在线"}, false},
		{"wrong root", vsBlock("NOT_VERSION", 0, nil, 0), nil, true},
		{"too short", []byte{1, 0}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v VersionInfo
			err := decodeVersion(tc.res, 2052, &v)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if tc.err {
				return
			}
			if v.FileVersion != "5.1.4.10" {
				t.Errorf("file version %q", v.FileVersion)
			}
			got := map[string]string{}
			for _, tb := range v.Tables {
				if tb.Key != "080404b0" || tb.Resource != 2052 {
					t.Errorf("table %q lang %d", tb.Key, tb.Resource)
				}
				for _, s := range tb.Strings {
					got[s.Key] = s.Value
				}
			}
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("%s = %q, want %q", k, got[k], w)
				}
			}
		})
	}
}

func TestDecodeStringBlock(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 16; i++ {
		s := ""
		switch i {
		case 5:
			s = "一号过滤器"
		case 15:
			s = "last"
		}
		u := utf16.Encode([]rune(s))
		binary.Write(&b, binary.LittleEndian, uint16(len(u)))
		binary.Write(&b, binary.LittleEndian, u)
	}
	tests := []struct {
		name  string
		block string
		data  []byte
		want  []TableString
	}{
		{"block 7", "7", b.Bytes(), []TableString{{ID: 101, Lang: 2052, Value: "一号过滤器"}, {ID: 111, Lang: 2052, Value: "last"}}},
		{"truncated", "1", b.Bytes()[:18], []TableString{{ID: 5, Lang: 2052, Value: "一号过"}}},
		{"named block", "NAMED", b.Bytes(), nil},
		{"block 0", "0", b.Bytes(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeStringBlock(Resource{Name: tc.block, Lang: 2052}, tc.data)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("[%d] = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDecodeDialogTruncated(t *testing.T) {
	fx := buildFixtures(t)
	s, err := Analyze(context.Background(), fx.exe, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Resources {
		if r.TypeID != rtDialog {
			continue
		}
		full := r.Bytes(fx.exe)
		for n := 0; n < len(full); n++ {
			d, err := decodeDialog(full[:n])
			if err == nil && len(d.Controls) > 3 {
				t.Errorf("%s cut at %d: %d controls", r.NodeName(), n, len(d.Controls))
			}
		}
	}
}

func gbkBytes(t testing.TB, s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExtractStrings(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	z := []byte{0}
	tests := []struct {
		name string
		data []byte
		min  int
		want []string // "enc:value"
	}{
		{"ascii", cat(z, []byte("hello world"), z, []byte("abc"), z), 6, []string{"ascii:hello world"}},
		{"utf16 latin", cat(z, utf16z("skypetools.tom.com")), 6, []string{"utf16le:skypetools.tom.com"}},
		{"utf16 chinese", cat(z, utf16z("一号过滤器")), 6, []string{"utf16le:一号过滤器"}},
		{"gbk keyword list", cat(gbkBytes(t, "法轮功\r\n六四事件\r\n天安门"), z), 6, []string{"gbk:法轮功", "gbk:六四事件", "gbk:天安门"}},
		{"gbk mixed", cat(z, gbkBytes(t, "欢迎使用TOM-Skype中文版"), z), 6, []string{"gbk:欢迎使用TOM-Skype中文版", "ascii:TOM-Skype"}},
		{"gbk not terminated", cat(gbkBytes(t, "一号过滤器"), []byte{0x81, 0x20}), 6, nil},
		{"gbk repeated fill", cat(z, bytes.Repeat([]byte{0xCA, 0xCA}, 12), z), 6, nil},
		{"gbk two hanzi", cat(z, gbkBytes(t, "过滤"), z), 6, []string{"gbk:过滤"}},
		{"gbk one hanzi", cat(z, gbkBytes(t, "滤"), z, gbkBytes(t, "滤AB"), z), 6, nil},
		{"gbk rare hanzi", cat(z, gbkBytes(t, "馈取小亍"), z), 6, nil}, // 亍 is GB 2312 level 2 (wine .reloc bytes)
		{"gbk from utf-8 greek", cat(z, []byte("el:(σελίδα %s)"), z), 6, nil},
		{"gbk from utf-16 korean", cat(z, utf16z("창고에"), z), 6, nil},
		{"utf16 two hanzi", cat(z, utf16z("确定")), 6, []string{"utf16le:确定"}},
		{"utf16 traditional", cat(z, utf16z("繁體中文")), 6, []string{"utf16le:繁體中文"}},
		{"utf16 full-width punctuation", cat(z, utf16z("提供参数。")), 6, []string{"utf16le:提供参数。"}},
		{"utf16 mixed", cat(z, utf16z("檔案 '%s' 不存在。")), 6, []string{"utf16le:檔案 '%s' 不存在。"}},
		{"utf16 string table", cat([]byte{6, 0}, utf16zNoNul("驱动程序诊断"), []byte{5, 0}, utf16zNoNul("屏幕分辨率"), []byte{2, 0}, utf16zNoNul("确定"), []byte{0, 0}), 6,
			[]string{"utf16le:驱动程序诊断", "utf16le:屏幕分辨率", "utf16le:确定"}},
		{"utf16 one hanzi", cat(z, utf16z("确")), 6, nil},
		{"utf16 hanzi not at a string start", cat([]byte{0x01, 0x01}, utf16z("确定")), 6, nil},
		{"duplicates", cat([]byte("repeated"), z, []byte("repeated"), z), 6, []string{"ascii:repeated"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := ExtractStrings(context.Background(), tc.data, StringOptions{MinLength: tc.min, Max: 100})
			var got []string
			for _, s := range set.Strings {
				got = append(got, s.Encoding+":"+s.Value)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExtractStringsCap(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 50; i++ {
		b.WriteString("string-number-")
		b.WriteByte(byte('A' + i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteByte(0)
	}
	set := ExtractStrings(context.Background(), b.Bytes(), StringOptions{MinLength: 6, Max: 10})
	if !set.Truncated || set.Count != 50 || len(set.Strings) != 10 || set.Strings[0].Offset != 0 {
		t.Errorf("cap: truncated %v count %d kept %d", set.Truncated, set.Count, len(set.Strings))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if set := ExtractStrings(ctx, b.Bytes(), StringOptions{MinLength: 6, Max: 10}); set.Count != 0 {
		t.Errorf("cancelled context still found %d strings", set.Count)
	}
}

// TestAnalyzeHostile: errors, not panics, on every prefix and on corrupted
// copies of the fixture; nothing on stdout; the size cap and ctx honoured.
func TestAnalyzeHostile(t *testing.T) {
	fx := buildFixtures(t)
	if _, err := Analyze(context.Background(), fx.exe, Options{MaxBytes: 1024}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size cap: err = %v", err)
	}
	if _, err := Analyze(context.Background(), []byte("MZ not a pe at all, long enough to have an e_lfanew........................."), Options{}); !errors.Is(err, ErrNotPE) {
		t.Errorf("not a PE: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Analyze(ctx, fx.exe, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	for _, src := range [][]byte{fx.exe, fx.signed} {
		for n := 0x40; n < len(src); n += 61 {
			Analyze(context.Background(), src[:n], Options{})
		}
		// Overwrite headers and directories with a sliding pattern.
		for off := 0x3c + 4; off < 0x400; off += 7 {
			bad := append([]byte(nil), src...)
			for i := 0; i < 8 && off+i < len(bad); i++ {
				bad[off+i] = 0xff
			}
			Analyze(context.Background(), bad, Options{})
		}
	}
	w.Close()
	os.Stdout = stdout
	var out bytes.Buffer
	out.ReadFrom(r)
	if out.Len() != 0 {
		t.Errorf("Analyze wrote %d bytes to stdout: %.200q", out.Len(), out.String())
	}
}

// TestDotNetHeader: a CLR runtime header (data directory 14) with metadata
// makes IsDotNet; the fixture patched to carry one inside .rdata.
func TestDotNetHeader(t *testing.T) {
	fx := buildFixtures(t)
	s, err := Analyze(context.Background(), fx.exe, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.IsDotNet {
		t.Fatal("native fixture reported as .NET")
	}
	var rdata Section
	for _, sec := range s.Sections {
		if sec.Name == ".rdata" {
			rdata = sec
		}
	}
	b := append([]byte(nil), fx.exe...)
	hdr := rdata.RawOffset + rdata.RawSize - 80                       // slack at the end of .rdata
	binary.LittleEndian.PutUint32(b[hdr:], 72)                        // cb
	binary.LittleEndian.PutUint32(b[hdr+8:], rdata.VirtualAddress+16) // MetaData RVA
	binary.LittleEndian.PutUint32(b[hdr+12:], 64)                     // MetaData size
	e := binary.LittleEndian.Uint32(b[0x3c:])
	dir14 := e + 24 + 112 + 14*8 // PE32+ optional header: data directories start at +112
	binary.LittleEndian.PutUint32(b[dir14:], rdata.VirtualAddress+(hdr-rdata.RawOffset))
	binary.LittleEndian.PutUint32(b[dir14+4:], 72)
	s, err = Analyze(context.Background(), b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.IsDotNet {
		t.Error("CLR header not seen")
	}
}

// TestGBKNotKoreanUTF16: a UTF-16 Korean string whose every syllable pairs
// up as a GB 2312 level-1 hanzi (산 U+C0B0 reads 袄 B0C0) passes every rule
// but the Korean one, which must reject it; the same bytes as GBK text
// between NULs are kept when they are not all Hangul.
func TestGBKNotKoreanUTF16(t *testing.T) {
	korean := "산도료"
	raw := utf16z(korean)
	tt := loadTextTables()
	for i := 0; i+3 < len(raw); i += 2 {
		if r := gbkHanzi(raw[i], raw[i+1]); !tt.gb2312Level1.has(r) || !tt.hangul.has(rune(raw[i])|rune(raw[i+1])<<8) {
			t.Fatalf("test data: %x reads %c, not a level-1 hanzi, or is no KS X 1001 syllable", raw[i:i+2], r)
		}
	}
	data := append([]byte{0, 0}, raw...)
	for _, s := range ExtractStrings(context.Background(), data, StringOptions{MinLength: 6, Max: 10}).Strings {
		if s.Encoding == EncGBK {
			t.Errorf("Korean UTF-16 %q read as GBK %q", korean, s.Value)
		}
	}
	if !isKoreanUTF16(raw[:len(raw)-2]) || isKoreanUTF16(gbkBytes(t, "确定取消")) {
		t.Error("isKoreanUTF16 misjudges")
	}
}

// TestHeaderNames: every value the PE/COFF specification lists has a name
// (subsystem 12 is the EFI runtime driver, not a ROM image), and values it
// does not list keep their number.
func TestHeaderNames(t *testing.T) {
	for m, want := range map[uint16]string{0x6264: "LoongArch 64-bit", 0xa641: "ARM64EC (ARM64 and x64 interoperable)", 0x8664: "x64", 0x1234: "0x1234"} {
		if got := MachineName(m); got != want {
			t.Errorf("machine %#x: %q, want %q", m, got, want)
		}
	}
	for v, want := range map[uint16]string{12: "EFI Runtime Driver", 13: "EFI ROM image", 16: "Windows boot application", 4: "4", 99: "99"} {
		if got := SubsystemName(v); got != want {
			t.Errorf("subsystem %d: %q, want %q", v, got, want)
		}
	}
	spec := []uint16{0x0, 0x184, 0x284, 0x1d3, 0x8664, 0x1c0, 0xaa64, 0xa641, 0xa64e, 0x1c4, 0xebc, 0x14c, 0x200,
		0x6232, 0x6264, 0x9041, 0x266, 0x366, 0x466, 0x1f0, 0x1f1, 0x160, 0x162, 0x166, 0x168, 0x5032, 0x5064,
		0x5128, 0x1a2, 0x1a3, 0x1a6, 0x1a8, 0x1c2, 0x169}
	for _, m := range spec {
		if strings.HasPrefix(MachineName(m), "0x") {
			t.Errorf("machine %#x unnamed", m)
		}
	}
	for _, v := range []uint16{0, 1, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 16} {
		if SubsystemName(v) == fmt.Sprint(v) {
			t.Errorf("subsystem %d unnamed", v)
		}
	}
	if got := strings.Join(DLLFlags(0x8160), ","); got != "HIGH_ENTROPY_VA,DYNAMIC_BASE,NX_COMPAT,TERMINAL_SERVER_AWARE" {
		t.Errorf("DLLFlags(0x8160) = %s", got)
	}
	if got := strings.Join(FileFlags(0x2102), ","); got != "EXECUTABLE_IMAGE,32BIT_MACHINE,DLL" {
		t.Errorf("FileFlags(0x2102) = %s", got)
	}
}

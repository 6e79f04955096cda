package gen

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tomscan/tomscan/corpus/manifest"
)

// The negative corpus: files that talk about TOM-Skype without being it.
// Every one must come out unrelated or undetermined, never TOM-Skype,
// regular Skype or the joint venture (internal/tom/corpustest). All of it
// is generated from fixed seeds: the same bytes on every run.
//
// Kinds (manifest field "class"):
//   - cleaner: a removal tool PE; version info names its own maker, its
//     FileDescription says "TOM-Skype Removal Tool", its data lists TOM-Skype
//     install paths, registry keys and the list URL to block.
//   - plugin: a Skype plug-in DLL that says it works with TOM-Skype.
//   - article: a news article saved as HTML (UTF-8 or GBK).
//   - forum: a forum post (text, UTF-8 or GBK).
//   - document: text, JSON (some shaped like a tomscan report quoting
//     evidence), Markdown and PDF-like files.
//   - zip: a ZIP of documents.
//   - named-member: a ZIP whose member is named TOM-SkypeSetup.exe but cannot
//     be read (an unsupported compression method over random bytes).

// negFile is one generated negative before it is written.
type negFile struct {
	id, ext, class, kind string
	data                 []byte
	members              []manifest.File
}

const negSeed = 20111220 // fixed: the corpus is deterministic

var (
	negMakers = []string{"Sweepwell Software Ltd.", "Beijing Qingli Tech Co.", "CleanSlate Utilities", "PC Tidy Studio"}
	negTopics = []string{
		"TOM-Skype, the Chinese edition of Skype distributed by TOM Online, filters chat messages",
		"Researchers found that TOM-Skype uploads messages containing keywords to servers in China",
		"The keyword list of TOM-Skype is fetched from skypetools.tom.com and decrypted on the client",
		"Users in China are offered TOM-Skype instead of the regular Skype client",
		"How to remove TOM-Skype completely and install the international Skype",
		"TOM在线 与 Skype 合作推出 TOM-Skype，消息会被过滤",
		"Breaching Trust: an analysis of surveillance on China's TOM-Skype platform",
		"After 2013 the joint venture replaced TOM-Skype; old TOM Online installers still circulate",
	}
	negURLs = []string{"http://skypetools.tom.com/agent/keyfile", "http://skypetools.tom.com/agent/keyfile_u",
		"http://skypetools.tom.com/agent/skypever.php?md5=", "http://skype.tom.com/", "http://220.181.111.37/upload/msg.php"}
	negHan = []string{"聊天内容被过滤", "关键词列表", "监控服务器", "下载地址", "卸载方法", "网络电话", "隐私问题"}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func negText(r *rand.Rand, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		line := pick(r, negTopics)
		if r.IntN(2) == 0 {
			line += " (see " + pick(r, negURLs) + ")"
		}
		if r.IntN(3) == 0 {
			line += " " + pick(r, negHan)
		}
		out = append(out, line+".")
	}
	return out
}

func gbkBytes(s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return []byte(s) // every text here is GBK-encodable; keep UTF-8 otherwise
	}
	return b
}

func negHTML(r *rand.Rand, i int) negFile {
	paras := negText(r, 3+r.IntN(4))
	var b strings.Builder
	charset := "utf-8"
	if i%3 == 2 {
		charset = "gb2312"
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"%s\"><title>%s</title></head>\n<body>\n<h1>%s</h1>\n", charset, paras[0], paras[0])
	for _, p := range paras[1:] {
		fmt.Fprintf(&b, "<p>%s</p>\n", p)
	}
	fmt.Fprintf(&b, "<p><a href=\"%s\">%s</a></p>\n</body></html>\n", pick(r, negURLs), "TOM-Skype download page")
	data := []byte(b.String())
	if charset == "gb2312" {
		data = gbkBytes(b.String())
	}
	return negFile{id: fmt.Sprintf("neg-article-%02d", i), ext: ".html", class: "article", data: data}
}

func negForum(r *rand.Rand, i int) negFile {
	var b strings.Builder
	fmt.Fprintf(&b, "Re: TOM-Skype keeps asking to update (post #%d)\r\nuser%03d wrote:\r\n", 1000+i, r.IntN(1000))
	for _, l := range negText(r, 2+r.IntN(3)) {
		b.WriteString("> " + l + "\r\n")
	}
	b.WriteString("\r\nI uninstalled TOM-Skype from C:\\Program Files\\TOM-Skype\\ and the TOM Online helper ContentFilter.exe.\r\n")
	data := []byte(b.String())
	if i%2 == 1 {
		data = gbkBytes(b.String() + "我也遇到了，TOM在线的版本会过滤消息。\r\n")
	}
	return negFile{id: fmt.Sprintf("neg-forum-%02d", i), ext: ".txt", class: "forum", data: data}
}

func negDocument(r *rand.Rand, i int) negFile {
	lines := negText(r, 3+r.IntN(3))
	switch i % 4 {
	case 0:
		return negFile{id: fmt.Sprintf("neg-doc-%02d", i), ext: ".txt", class: "document", data: []byte(strings.Join(lines, "\n") + "\n")}
	case 1:
		// Shaped like a tomscan report: it quotes evidence of a TOM build.
		rep := map[string]any{"schema_version": "1", "tom": map[string]any{"verdict": map[string]any{
			"kind": "tom-skype-chinese", "confidence": 0.93, "evidence": []map[string]any{
				{"source": "version-info", "detail": `080403a8 CompanyName = "TOM在线"`},
				{"source": "string", "detail": `ascii "TOM-Skype"`},
				{"source": "endpoint", "detail": "keyword-list " + negURLs[1]},
				{"source": "endpoint", "detail": "surveillance-upload " + negURLs[4]},
			}}}, "notes": lines}
		data, _ := json.MarshalIndent(rep, "", "  ")
		return negFile{id: fmt.Sprintf("neg-doc-%02d", i), ext: ".json", class: "document", data: append(data, '\n')}
	case 2:
		var b strings.Builder
		b.WriteString("# tomscan report\n\n**Verdict: tom-skype-english** (confidence 0.90)\n\n| node | source | detail |\n|---|---|---|\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "| setup.exe!Skype.exe | string | %s |\n", l)
		}
		return negFile{id: fmt.Sprintf("neg-doc-%02d", i), ext: ".md", class: "document", data: []byte(b.String())}
	default:
		return negFile{id: fmt.Sprintf("neg-doc-%02d", i), ext: ".pdf", class: "document", data: negPDF(lines)}
	}
}

// negPDF is a one-page PDF with an uncompressed text stream: the words are
// in the file as plain bytes, as in many PDFs of the era.
func negPDF(lines []string) []byte {
	var content strings.Builder
	content.WriteString("BT /F1 11 Tf 50 780 Td 14 TL\n")
	for _, l := range lines {
		l = strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l)
		fmt.Fprintf(&content, "(%s) '\n", l)
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// negZip deflates files into a ZIP with a fixed time.
func negZip(id string, files []negFile) (negFile, error) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	nf := negFile{id: id, ext: ".zip", class: "zip"}
	for _, f := range files {
		name := f.id + f.ext
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.Modified = fixedTime
		fw, err := w.CreateHeader(h)
		if err != nil {
			return nf, fmt.Errorf("negatives: zip %s: %w", id, err)
		}
		if _, err := fw.Write(f.data); err != nil {
			return nf, fmt.Errorf("negatives: zip %s: %w", id, err)
		}
		nf.members = append(nf.members, manifest.File{Path: []string{id + ".zip", name}, SHA256: sha256Hex(f.data), Size: int64(len(f.data)), Role: f.class})
	}
	if err := w.Close(); err != nil {
		return nf, fmt.Errorf("negatives: zip %s: %w", id, err)
	}
	nf.data = buf.Bytes()
	return nf, nil
}

// negNamedMember is a ZIP whose only member is named like a TOM-Skype
// installer but holds random bytes under compression method 99 (WinZip AES)
// without the AES extra field: no reader can extract it.
func negNamedMember(r *rand.Rand, i int) (negFile, error) {
	names := []string{"TOM-SkypeSetup.exe", "TOM-SkypeSetup-3.8.exe", "tomskype_full.exe", "TOM-SkypeSetup.exe", "Setup/TOM-SkypeSetup.exe", "TOM-SkypeSetup (1).exe"}
	id := fmt.Sprintf("neg-named-member-%02d", i)
	body := make([]byte, 512+r.IntN(4096))
	for j := range body {
		body[j] = byte(r.UintN(256))
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: names[i%len(names)], Method: 99, CRC32: crc32.ChecksumIEEE(body),
		CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(body)) * 2}
	h.Modified = fixedTime
	fw, err := w.CreateRaw(h)
	if err != nil {
		return negFile{}, fmt.Errorf("negatives: %s: %w", id, err)
	}
	if _, err := fw.Write(body); err != nil {
		return negFile{}, fmt.Errorf("negatives: %s: %w", id, err)
	}
	if err := w.Close(); err != nil {
		return negFile{}, fmt.Errorf("negatives: %s: %w", id, err)
	}
	// Undetermined: a name is a mention, and the member could not be read.
	return negFile{id: id, ext: ".zip", class: "named-member", kind: "undetermined", data: buf.Bytes()}, nil
}

func (g *Generator) negCleaner(ctx context.Context, work string, r *rand.Rand, i int) (negFile, error) {
	maker := negMakers[i%len(negMakers)]
	arch := []string{"x86", "x64"}[i%2]
	p := &peDesc{
		fileName: fmt.Sprintf("Remover%d.exe", i), arch: arch, textMode: "gbk", langID: []uint16{0x409, 0x804}[i%2],
		version: fmt.Sprintf("1.%d.0.%d", i, 100+r.IntN(900)), company: maker, product: "Messenger Remover",
		description: "TOM-Skype Removal Tool", copyright: "(c) 2012 " + maker, internalName: "remover",
		strings: []string{"Scanning for leftovers...", "Remove TOM-Skype and TOM Online components", "Done"},
		config: []cField{
			{name: "path0", ascii: `C:\Program Files\TOM-Skype\Skype.exe`},
			{name: "path1", ascii: `C:\Program Files\TOM\Skype\ContentFilter.exe`},
			{name: "path2", wide: `%APPDATA%\TOM-Skype\keyfile.cache`},
			{name: "reg0", ascii: `HKLM\Software\TOM Online\TOM-Skype`},
			{name: "block0", ascii: negURLs[r.IntN(2)]},
		},
	}
	data, err := p.compile(ctx, filepath.Join(work, fmt.Sprintf("cleaner-%d", i)))
	if err != nil {
		return negFile{}, fmt.Errorf("negatives: cleaner %d: %w", i, err)
	}
	return negFile{id: fmt.Sprintf("neg-cleaner-%02d", i), ext: ".exe", class: "cleaner", data: data}, nil
}

func (g *Generator) negPlugin(ctx context.Context, work string, r *rand.Rand, i int) (negFile, error) {
	makers := []string{"Chatterbox Add-ons", "VoiceKeep Labs", "Recordia Inc."}
	maker := makers[i%len(makers)]
	p := &peDesc{
		fileName: fmt.Sprintf("CallRecorder%d.dll", i), arch: []string{"x86", "x64"}[i%2], dll: true, textMode: "gbk", langID: 0x409,
		version: fmt.Sprintf("2.%d.0.%d", i, r.IntN(100)), company: maker, product: "Call Recorder for Skype",
		description: "Skype call recorder plug-in", copyright: "(c) 2011 " + maker, internalName: "recorder",
		strings: []string{"Works with Skype 3.x to 5.x and TOM-Skype", "Compatible with TOM-Skype builds by TOM Online", "Recording started"},
		config:  []cField{{name: "api", ascii: "Skype4COM.Skype"}, {name: "compat", wide: "TOM-Skype 5.x"}},
	}
	data, err := p.compile(ctx, filepath.Join(work, fmt.Sprintf("plugin-%d", i)))
	if err != nil {
		return negFile{}, fmt.Errorf("negatives: plug-in %d: %w", i, err)
	}
	return negFile{id: fmt.Sprintf("neg-plugin-%02d", i), ext: ".dll", class: "plugin", data: data}, nil
}

// Negatives builds the negative corpus into outDir/negatives and returns its
// manifest entries, sorted by id.
func (g *Generator) Negatives(ctx context.Context, work string) ([]manifest.Negative, error) {
	r := rand.New(rand.NewPCG(negSeed, negSeed+1))
	var files []negFile
	for i := 0; i < 4; i++ {
		f, err := g.negCleaner(ctx, work, r, i)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	for i := 0; i < 3; i++ {
		f, err := g.negPlugin(ctx, work, r, i)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	var docs []negFile
	for i := 0; i < 30; i++ {
		docs = append(docs, negHTML(r, i))
	}
	for i := 0; i < 20; i++ {
		docs = append(docs, negForum(r, i))
	}
	for i := 0; i < 28; i++ {
		docs = append(docs, negDocument(r, i))
	}
	files = append(files, docs...)
	for i := 0; i < 10; i++ {
		var in []negFile
		for k := 0; k < 3+i%3; k++ {
			in = append(in, docs[(i*7+k*5)%len(docs)])
		}
		z, err := negZip(fmt.Sprintf("neg-zip-%02d", i), in)
		if err != nil {
			return nil, err
		}
		files = append(files, z)
	}
	for i := 0; i < 6; i++ {
		f, err := negNamedMember(r, i)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	dir := filepath.Join(g.cfg.OutDir, "negatives")
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("negatives: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("negatives: %w", err)
	}
	var out []manifest.Negative
	for _, f := range files {
		name := f.id + f.ext
		if err := os.WriteFile(filepath.Join(dir, name), f.data, 0o644); err != nil {
			return nil, fmt.Errorf("negatives: write %s: %w", name, err)
		}
		kind := f.kind
		if kind == "" {
			// Every other negative mentions TOM-Skype: a mention gives
			// undetermined, with the reason.
			kind = "undetermined"
		}
		out = append(out, manifest.Negative{ID: f.id, File: "negatives/" + name, SHA256: sha256Hex(f.data), Size: int64(len(f.data)),
			Class: f.class, Kind: kind, Members: f.members})
	}
	return out, nil
}

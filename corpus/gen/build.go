package gen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// builder makes one build from its spec in its own scratch folder.
type builder struct {
	spec     *Spec
	work     string // scratch root for this build
	certDir  string
	keywords string
	gen      *Generator
	// pendingInstallers are installer tables waiting for their node's path.
	pendingInstallers []pendingInstaller
}

// payloadFile is a file the installer ships, before wrapping.
type payloadFile struct {
	name string
	data []byte
	role string
}

// preparedList is a keyword list encrypted for this build.
type preparedList struct {
	spec       ListSpec
	list       *KeywordList
	key        []byte
	ciphertext []byte
	fileName   string // for installer-file and cache-file
}

func (b *builder) prepareLists() ([]*preparedList, error) {
	var out []*preparedList
	for _, ls := range b.spec.KeywordLists {
		kl, err := LoadList(b.keywords, ls.Family, ls.Name, ls.Snapshot)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", b.spec.ID, err)
		}
		p := &preparedList{spec: ls, list: kl}
		label := b.spec.ID + "/" + ls.Name
		switch ls.Cipher {
		case "xor":
			p.key = deriveKey(label, ls.XORKeyLen)
			p.ciphertext = XOR(kl.GBK, p.key)
		case "aes-256-ecb":
			p.key = deriveKey(label, 32)
			p.ciphertext, err = EncryptAESECB(kl.GBK, p.key)
			if err != nil {
				return nil, fmt.Errorf("build %s: %w", b.spec.ID, err)
			}
		default:
			p.ciphertext = kl.GBK
		}
		switch ls.Location {
		case "installer-file":
			p.fileName = "data/" + ls.Name + ".dat"
		case "cache-file":
			p.fileName = "~" + ls.Name + ".cache"
		}
		out = append(out, p)
	}
	return out, nil
}

func (b *builder) desKey() []byte {
	if !b.spec.DESUploadKey {
		return nil
	}
	return deriveKey(b.spec.ID+"/des-upload", 8)
}

// keyField puts a key into the config struct as raw bytes or ASCII hex.
func (b *builder) keyField(name string, key []byte) cField {
	if b.spec.keyForm() == "ascii" {
		return cField{name: name, ascii: hex.EncodeToString(key)}
	}
	return cField{name: name, raw: key}
}

func urlField(name string, e Endpoint) cField {
	if e.Encoding == "utf16le" {
		return cField{name: name, wide: e.URL}
	}
	return cField{name: name, ascii: e.URL}
}

func (b *builder) langID() uint16 {
	if b.spec.Language == "zh" {
		return 0x804
	}
	return 0x409
}

func (b *builder) textMode() string {
	if b.spec.ChineseText == "utf16" {
		return "utf16"
	}
	return "gbk"
}

func (b *builder) clientPE(lists []*preparedList) *peDesc {
	id := b.identity()
	p := &peDesc{
		fileName: b.spec.clientName(), arch: b.spec.Arch, textMode: b.textMode(), langID: b.langID(),
		version: b.spec.Version, company: id.company, product: id.product, description: id.description,
		copyright: id.copyright, internalName: strings.TrimSuffix(b.spec.clientName(), ".exe"),
		aboutCaption: id.aboutCaption, aboutText: id.aboutText, strings: id.ui,
	}
	if s := b.spec; s.Kind == KindTOMChinese && b.textMode() == "gbk" {
		// GBK-era clients also kept UI text as GBK bytes in their data.
		if g, err := simplifiedchinese.GBK.NewEncoder().String("TOM在线 TOM-Skype 敏感词过滤 已启用"); err == nil {
			p.config = append(p.config, cField{name: "ui_text_gbk", raw: append([]byte(g), 0)})
		}
	}
	keysPlaced := false
	for i, e := range b.spec.Endpoints {
		switch e.Where {
		case "rdata":
			p.config = append(p.config, urlField(fmt.Sprintf("url%d", i), e))
			// Keys sit right after the first list URL, as in the clients studied.
			if e.Class == "keyword-list" && !keysPlaced {
				for _, l := range lists {
					if l.key != nil {
						p.config = append(p.config, b.keyField("key_"+l.spec.Name, l.key))
					}
				}
				keysPlaced = true
			}
			if e.Class == "surveillance-upload" && b.desKey() != nil {
				p.config = append(p.config, b.keyField("upload_des_key", b.desKey()))
			}
		case "stringtable":
			p.strings = append(p.strings, e.URL)
		}
	}
	for _, l := range lists {
		if l.spec.Location == "rcdata" {
			p.rcdata = append(p.rcdata, l.ciphertext)
		}
	}
	return p
}

func (b *builder) contentFilterPE() *peDesc {
	lang, langID := b.spec.Language, b.langID()
	if l := b.spec.ContentFilterLanguage; l != "" {
		lang, langID = l, 0x409
		if l == "zh" {
			langID = 0x804
		}
	}
	p := &peDesc{
		fileName: "ContentFilter.exe", arch: b.spec.Arch, textMode: b.textMode(), langID: langID,
		version: b.spec.Version, company: "TOM Online Inc.", product: "TOM-Skype",
		description: "Tom Word Review", copyright: "(C) 2006-2011 TOM Online Inc.",
		internalName: "ContentFilter",
		strings:      []string{"Tom Word Review"},
		config:       []cField{{name: "user_agent", ascii: "Mozilla/3.0 (compatible; Indy Library)"}},
	}
	if lang == "zh" {
		p.strings = append(p.strings, "内容过滤")
	} else {
		// An English helper: English UI text only, so its resources say
		// English louder than the client's say Chinese.
		p.strings = append(p.strings, "Content filter", "Word list updated", "Filtering enabled", "Message checked")
	}
	for i, e := range b.spec.Endpoints {
		if e.Where == "contentfilter" {
			p.config = append(p.config, urlField(fmt.Sprintf("url%d", i), e))
		}
	}
	return p
}

func (b *builder) helperPE() *peDesc {
	id := b.identity()
	name := "SkypeHelper.dll"
	if b.spec.Kind == KindUnrelated {
		name = "NotesSpell.dll"
	}
	return &peDesc{
		fileName: name, arch: b.spec.Arch, dll: true, textMode: b.textMode(), langID: b.langID(),
		version: b.spec.Version, company: id.company, product: id.product,
		description: id.product + " helper library", copyright: id.copyright,
		internalName: strings.TrimSuffix(name, ".dll"), strings: []string{id.product + " helper"},
	}
}

func (b *builder) stubPE(ctx context.Context, dir string) ([]byte, error) {
	id := b.identity()
	p := &peDesc{
		fileName: "SkypeSetup.exe", arch: b.spec.Arch, textMode: b.textMode(), langID: b.langID(),
		version: b.spec.Version, company: b.companyASCII(), product: b.productName(),
		description: b.productName() + " self-extracting setup", copyright: id.copyright,
		internalName: "setup", strings: []string{"Extracting files...", "Setup"},
	}
	return p.compile(ctx, dir)
}

// configFiles renders the endpoints that live in installer config files:
// one ASCII XML, one UTF-16LE XML with a BOM.
func (b *builder) configFiles() []payloadFile {
	var ascii, wide []string
	for _, e := range b.spec.Endpoints {
		if e.Where != "config" {
			continue
		}
		line := fmt.Sprintf("  <url class=%q>%s</url>", e.Class, strings.ReplaceAll(e.URL, "&", "&amp;"))
		if e.Encoding == "utf16le" {
			wide = append(wide, line)
		} else {
			ascii = append(ascii, line)
		}
	}
	var out []payloadFile
	doc := func(lines []string) string {
		return "<?xml version=\"1.0\"?>\r\n<config>\r\n" + strings.Join(lines, "\r\n") + "\r\n</config>\r\n"
	}
	if len(ascii) > 0 {
		out = append(out, payloadFile{name: "config.xml", data: []byte(doc(ascii)), role: "config"})
	}
	if len(wide) > 0 {
		u := utf16.Encode([]rune(doc(wide)))
		data := []byte{0xFF, 0xFE}
		for _, c := range u {
			data = append(data, byte(c), byte(c>>8))
		}
		out = append(out, payloadFile{name: "shared.xml", data: data, role: "config"})
	}
	return out
}

// buildResult is a finished build before it is written out.
type buildResult struct {
	data  []byte
	build Build
}

func (b *builder) build(ctx context.Context) (*buildResult, error) {
	s := b.spec
	lists, err := b.prepareLists()
	if err != nil {
		return nil, err
	}
	var files []payloadFile
	compileSigned := func(p *peDesc, role string) error {
		data, err := p.compile(ctx, filepath.Join(b.work, "pe-"+p.fileName))
		if err != nil {
			return fmt.Errorf("build %s: %w", s.ID, err)
		}
		if s.Signer != "" {
			data, err = sign(ctx, b.certDir, filepath.Join(b.work, "sign-"+p.fileName), s.Signer, p.product, data, filepath.Ext(p.fileName))
			if err != nil {
				return fmt.Errorf("build %s: %w", s.ID, err)
			}
		}
		files = append(files, payloadFile{name: p.fileName, data: data, role: role})
		return nil
	}
	if err := compileSigned(b.clientPE(lists), "client"); err != nil {
		return nil, err
	}
	if s.ContentFilter {
		if err := compileSigned(b.contentFilterPE(), "contentfilter"); err != nil {
			return nil, err
		}
	}
	if s.Helper {
		if err := compileSigned(b.helperPE(), "helper"); err != nil {
			return nil, err
		}
	}
	files = append(files, b.configFiles()...)
	if s.HelpText != "" {
		files = append(files, payloadFile{name: "help.txt", data: []byte(s.HelpText + "\r\n"), role: "other"})
	}
	for _, l := range lists {
		if l.fileName != "" {
			files = append(files, payloadFile{name: l.fileName, data: l.ciphertext, role: "keyfile"})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	entries := make([]Entry, len(files))
	for i, f := range files {
		entries[i] = Entry{Name: f.name, Data: f.data, Role: f.role, Tag: f.name}
	}
	data, children, err := b.wrap(ctx, s.Wrappers, entries)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", s.ID, err)
	}
	fileName := s.ID + Extension(s.Wrappers[0])
	bd := Build{
		ID: s.ID, File: "builds/" + fileName, SHA256: sha256Hex(data), Size: int64(len(data)),
		Kind: s.Kind, Decoy: s.Decoy, Language: s.Language, Version: s.Version,
		Wrappers: append([]string{}, s.Wrappers...), Signer: s.Signer,
		Files: []File{}, Endpoints: []EndpointGT{}, KeywordLists: []KeywordGT{},
	}
	byTag := map[string][]string{}
	var walk func(prefix []string, es []Entry)
	walk = func(prefix []string, es []Entry) {
		for _, e := range es {
			p := append(append([]string{}, prefix...), e.Name)
			bd.Files = append(bd.Files, File{Path: p, SHA256: sha256Hex(e.Data), Size: int64(len(e.Data)), PE: isPE(e.Data), Role: e.Role})
			if e.Tag != "" {
				byTag[e.Tag] = p
			}
			walk(p, e.Children)
		}
	}
	walk([]string{fileName}, children)
	sort.Slice(bd.Files, func(i, j int) bool { return strings.Join(bd.Files[i].Path, "!") < strings.Join(bd.Files[j].Path, "!") })
	client := byTag[s.clientName()]
	for _, e := range s.Endpoints {
		var where []string
		switch e.Where {
		case "rdata", "stringtable":
			where = client
		case "contentfilter":
			where = byTag["ContentFilter.exe"]
		case "config":
			if e.Encoding == "utf16le" {
				where = byTag["shared.xml"]
			} else {
				where = byTag["config.xml"]
			}
		}
		bd.Endpoints = append(bd.Endpoints, EndpointGT{Value: e.URL, Host: hostOf(e.URL), Class: e.Class, Encoding: e.Encoding, Path: where})
	}
	for _, l := range lists {
		where := client
		if l.fileName != "" {
			where = byTag[l.fileName]
		}
		bd.KeywordLists = append(bd.KeywordLists, KeywordGT{
			Name: l.spec.Name, Family: l.spec.Family, Snapshot: l.spec.Snapshot, Count: l.list.Count,
			EntriesTotal: l.list.Total, SHA256: l.list.Digest,
			NormalizedCount: l.list.NormalizedCount, NormalizedSHA256: l.list.NormalizedDigest, Cipher: l.spec.Cipher, KeyHex: hex.EncodeToString(l.key),
			Location: l.spec.Location, Path: where, CiphertextSHA256: sha256Hex(l.ciphertext),
		})
	}
	if k := b.desKey(); k != nil {
		bd.DESUploadKey = &DESKeyGT{KeyHex: hex.EncodeToString(k), Path: client}
	}
	bd.ExpectedRules = ExpectedRules(s)
	for _, p := range b.pendingInstallers {
		gt := *p.gt
		if p.sha256 == bd.SHA256 {
			gt.Path = []string{fileName}
		} else {
			for _, f := range bd.Files {
				if f.SHA256 == p.sha256 {
					gt.Path = f.Path
				}
			}
		}
		if gt.Path == nil {
			return nil, fmt.Errorf("build %s: installer tables: no node holds the installer", s.ID)
		}
		bd.Installers = append(bd.Installers, gt)
	}
	return &buildResult{data: data, build: bd}, nil
}

// ExpectedRules applies the table in docs/contracts.md to a spec's ground truth.
func ExpectedRules(s *Spec) []string {
	var r []string
	if s.isTOM() {
		r = append(r, "TOMSkype_Identity")
	}
	if s.ContentFilter {
		r = append(r, "TOMSkype_ContentFilter")
	}
	agent, keyfileU, uploadIP := false, false, false
	for _, e := range s.Endpoints {
		u, err := url.Parse(e.URL)
		if err != nil {
			continue
		}
		if strings.EqualFold(u.Hostname(), "skypetools.tom.com") && strings.HasPrefix(u.Path, "/agent/") {
			agent = true
		}
		if strings.Contains(e.URL, "/agent/keyfile_u") {
			keyfileU = true
		}
		if ip := net.ParseIP(u.Hostname()); e.Class == "surveillance-upload" && ip != nil && ip.To4() != nil {
			uploadIP = true
		}
	}
	if agent {
		r = append(r, "TOMSkype_Endpoint_Agent")
	}
	if keyfileU {
		r = append(r, "TOMSkype_Endpoint_KeyfileU")
	}
	if uploadIP {
		r = append(r, "TOMSkype_Endpoint_UploadIP")
	}
	if s.DESUploadKey {
		r = append(r, "TOMSkype_DES_UploadKey")
	}
	if s.Kind == KindRegular {
		r = append(r, "Skype_Regular_Identity")
	}
	if s.Kind == KindJointVenture {
		r = append(r, "Skype_JointVenture_GMW")
	}
	sort.Strings(r)
	if r == nil {
		r = []string{}
	}
	return r
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// isPE reports an MZ header whose e_lfanew points at "PE\0\0".
func isPE(b []byte) bool {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return false
	}
	off := int(uint32(b[0x3c]) | uint32(b[0x3d])<<8 | uint32(b[0x3e])<<16 | uint32(b[0x3f])<<24)
	return off >= 0 && off+4 <= len(b) && bytes.Equal(b[off:off+4], []byte("PE\x00\x00"))
}

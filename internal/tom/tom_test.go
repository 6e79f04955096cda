package tom

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/keywords"
	"github.com/tomscan/tomscan/internal/tom/cipher"
	"github.com/tomscan/tomscan/internal/tom/geoip"
	"github.com/tomscan/tomscan/internal/tom/keysearch"
	"github.com/tomscan/tomscan/pe"
)

func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(b []byte, at int, s []byte) { copy(b[at:], s) }

// fixture is a fake build: a ZIP holding a client and a cache file.
type fixture struct {
	root  *artifact.Node
	nodes []*artifact.Node
	data  map[*artifact.Node][]byte
}

func (f *fixture) add(parent *artifact.Node, name, typ string, data []byte, sum *pe.Summary) *artifact.Node {
	n := parent.NewChild(name, "zip")
	n.Type, n.Size, n.PE = typ, int64(len(data)), sum
	n.Strings = pe.ExtractStrings(context.Background(), data, pe.StringOptions{MinLength: 4, Max: 100000})
	parent.Children = append(parent.Children, n)
	f.nodes = append(f.nodes, n)
	f.data[n] = data
	return n
}

func (f *fixture) run(t *testing.T, opts Options) *Result {
	t.Helper()
	b := NewBuild(opts)
	b.Visit(context.Background(), f.root, nil)
	for _, n := range f.nodes {
		b.Visit(context.Background(), n, f.data[n])
	}
	return b.Finish(context.Background(), f.root)
}

func newFixture() *fixture {
	root := artifact.NewRoot("setup.zip")
	root.Type = filetype.ZIP
	return &fixture{root: root, data: map[*artifact.Node][]byte{}}
}

// listText has what the real lists have: an entry with a trailing space
// beside the same text without it, and an entry listed twice. Both must
// survive recovery exactly.
const listText = "法轮功\r\n六四\r\n天安门\r\n胡锦涛\r\n学潮\r\n操你妈\r\nFLG\r\n达赖\r\n民运\r\n新词一\r\nx卧底下载 \r\nx卧底下载\r\n六四\r\n"

type tomClient struct {
	fx                     *fixture
	client, cache          *artifact.Node
	aesKey, xorKey, desKey []byte
	listURL, upURL, verURL int
	rcOffset, aesAt, xorAt int
	wantDigest             string
}

// tomBuild makes a Chinese TOM-Skype client: version info of TOM Online in
// 0804, a keyword-list URL with an AES key 700 bytes after it and an XOR key
// 300 bytes before it, an AES-encrypted list in an RCDATA leaf, an
// XOR-encrypted list in a file beside the client, an upload URL on an IP
// literal with a DES key string beside it.
func tomBuild(t *testing.T, lang uint32) *tomClient {
	c := &tomClient{fx: newFixture(), aesKey: noise(11, 32), xorKey: noise(12, 13), desKey: []byte("X7sRUjL\x00")}
	list := gbk(t, listText)
	aesCT, err := cipher.EncryptAES256ECB(list, c.aesKey)
	if err != nil {
		t.Fatal(err)
	}
	data := noise(10, 64<<10)
	for i := range data { // keep the noise free of accidental strings
		if data[i] >= 0x20 && data[i] < 0x7f {
			data[i] = 0x01
		}
	}
	c.listURL, c.upURL, c.verURL = 0x4000, 0x9000, 0x9800
	c.aesAt, c.xorAt = c.listURL+700, c.listURL-300
	c.rcOffset = 0xc000
	put(data, c.listURL-1, []byte("\x00http://skypetools.tom.com/agent/keyfile\x00"))
	put(data, c.aesAt, c.aesKey)
	put(data, c.xorAt, c.xorKey)
	put(data, c.upURL-1, append([]byte("\x00http://219.133.49.171/cgi-bin/upload.cgi\x00"), c.desKey...))
	u16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return append(b, 0, 0)
	}
	put(data, c.verURL, u16("http://skypetools.tom.com/agent/skypever.php?md5="))
	put(data, 0xa000, append(append([]byte{0}, gbk(t, "欢迎使用TOM-Skype，请登录您的帐户")...), 0))
	put(data, c.rcOffset, aesCT)
	sum := &pe.Summary{
		Version: &pe.VersionInfo{
			Tables:       []pe.VersionTable{{Key: "080403a8", Resource: lang, Strings: []pe.VersionString{{Key: "CompanyName", Value: "TOM Online Inc."}, {Key: "ProductName", Value: "TOM-Skype"}}}},
			Translations: []string{"0804:03a8"},
		},
		Resources: []pe.Resource{
			{Type: "VERSION", TypeID: 16, Name: "1", Lang: lang, Offset: 0x100, Size: 0x100},
			{Type: "STRING", TypeID: 6, Name: "1", Lang: lang, Offset: 0x200, Size: 0x100},
			{Type: "RCDATA", TypeID: 10, Name: "KEYS", Lang: lang, Offset: int64(c.rcOffset), Size: int64(len(aesCT))},
		},
	}
	if lang == 1033 {
		sum.Version.Tables[0].Key = "040904b0"
		sum.Version.Translations = []string{"0409:04b0"}
	}
	c.client = c.fx.add(c.fx.root, "app/Skype.exe", filetype.PE, data, sum)
	c.cache = c.fx.add(c.fx.root, "app/keyfile.dat", filetype.Unknown, cipher.XORBytes(list, c.xorKey), nil)
	c.fx.add(c.fx.root, "readme.txt", filetype.Text, []byte("Thank you for installing.\r\nSee http://skype.tom.com/ for help.\r\n"), nil)
	c.wantDigest = keywords.ExactDigest(keywords.Entries(listText))
	return c
}

func TestTOMChineseBuild(t *testing.T) {
	c := tomBuild(t, 2052)
	res := c.fx.run(t, Options{})
	if res.Verdict.Kind != KindTOMChinese || res.Verdict.Language != "zh" || res.Verdict.Confidence < 0.8 {
		t.Fatalf("verdict = %+v", res.Verdict)
	}
	sources := map[string]bool{}
	for _, e := range res.Verdict.Evidence {
		sources[e.Source] = true
	}
	for _, s := range []string{"version-info", "string", "endpoint", "language"} {
		if !sources[s] {
			t.Errorf("no %s evidence in %+v", s, res.Verdict.Evidence)
		}
	}

	want := map[string]struct {
		class string
		at    int64
	}{
		"http://skypetools.tom.com/agent/keyfile":           {"keyword-list", int64(c.listURL)},
		"http://219.133.49.171/cgi-bin/upload.cgi":          {"surveillance-upload", int64(c.upURL)},
		"http://skypetools.tom.com/agent/skypever.php?md5=": {"version-check", int64(c.verURL)},
		"http://skype.tom.com/":                             {"update", -1},
	}
	got := map[string]Endpoint{}
	for _, e := range res.Endpoints {
		got[e.Value] = e
	}
	for v, w := range want {
		e, ok := got[v]
		if !ok {
			t.Errorf("endpoint %s not found; have %+v", v, res.Endpoints)
			continue
		}
		if e.Class != w.class {
			t.Errorf("%s: class %s, want %s", v, e.Class, w.class)
		}
		if w.at >= 0 && (e.Locations[0].Node != c.client.ID || e.Locations[0].Offset != w.at) {
			t.Errorf("%s: at %+v, want %s@%#x", v, e.Locations, c.client.ID, w.at)
		}
	}
	if _, err := os.Stat(geoip.DefaultPath); err == nil {
		if e := got["http://219.133.49.171/cgi-bin/upload.cgi"]; e.Country != "CN" {
			t.Errorf("upload server country %q, want CN", e.Country)
		}
	}

	if len(res.KeywordLists) != 2 {
		t.Fatalf("%d keyword lists, want 2: %+v", len(res.KeywordLists), res.KeywordLists)
	}
	for _, kl := range res.KeywordLists {
		if kl.SHA256 != c.wantDigest || kl.Count != 12 || kl.EntriesTotal != 13 || kl.NormalizedCount != 11 || kl.Encoding != "gbk" {
			t.Errorf("list %s: sha256 %s count %d (%d entries, %d normalised) enc %s", kl.Node, kl.SHA256, kl.Count, kl.EntriesTotal, kl.NormalizedCount, kl.Encoding)
		}
		if !slices.Contains(kl.Keywords, "x卧底下载 ") || !slices.Contains(kl.Keywords, "x卧底下载") {
			t.Errorf("list %s: trailing-space entry lost or merged: %q", kl.Node, kl.Keywords)
		}
		if len(kl.Duplicates) != 1 || kl.Duplicates[0].Entry != "六四" || kl.Duplicates[0].Count != 2 {
			t.Errorf("list %s: duplicates %+v, want 六四 twice", kl.Node, kl.Duplicates)
		}
		switch kl.Cipher {
		case cipher.AES256:
			if kl.Location != "rcdata" || kl.Resource != "[rsrc]/RCDATA/KEYS/2052" || kl.KeyHex != hex.EncodeToString(c.aesKey) || kl.KeyOffset != int64(c.aesAt) || kl.KeyNode != c.client.ID {
				t.Errorf("aes list: %+v", kl)
			}
		case cipher.XOR:
			if kl.Location != "cache-file" || kl.Node != c.cache.ID || kl.KeyHex != hex.EncodeToString(c.xorKey) || kl.KeyOffset != int64(c.xorAt) {
				t.Errorf("xor list: %+v", kl)
			}
		default:
			t.Errorf("unexpected cipher %s", kl.Cipher)
		}
	}
	kinds := map[string]int{}
	for _, n := range []*artifact.Node{c.client, c.cache} {
		for _, f := range n.Findings {
			kinds[n.Name+" "+f.Kind]++
		}
	}
	if kinds["app/Skype.exe keyword-list"] != 1 || kinds["app/Skype.exe keyword-list-key"] != 2 || kinds["app/keyfile.dat keyword-list"] != 1 || kinds["app/Skype.exe des-upload-key"] != 1 {
		t.Errorf("findings %v", kinds)
	}
	if res.DESUploadKey == nil || res.DESUploadKey.KeyHex != hex.EncodeToString(c.desKey) || res.DESUploadKey.Offset != int64(c.upURL+len("http://219.133.49.171/cgi-bin/upload.cgi")+1) {
		t.Errorf("DES key = %+v", res.DESUploadKey)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatal(err)
	}
}

func TestTOMEnglishBuild(t *testing.T) {
	c := tomBuild(t, 1033)
	// The English client carries no Chinese UI text.
	d := c.fx.data[c.client]
	for i := 0xa000; i < 0xa040; i++ {
		d[i] = 1
	}
	c.client.Strings = pe.ExtractStrings(context.Background(), d, pe.StringOptions{MinLength: 4, Max: 100000})
	res := c.fx.run(t, Options{})
	if res.Verdict.Kind != KindTOMEnglish || res.Verdict.Language != "en" {
		t.Fatalf("verdict = %+v", res.Verdict)
	}
}

func TestKeywordListSnapshots(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/tom-skype-raw-data/dlist-5.0", 0o755); err != nil {
		t.Fatal(err)
	}
	// The snapshot holds "x卧底下载" without the trailing space and an entry
	// (林彪) the recovered list lacks.
	snap := "法轮功\n六四\n天安门\n胡锦涛\n学潮\n操你妈\nFLG\n达赖\n民运\nx卧底下载\n林彪\n"
	if err := os.WriteFile(dir+"/tom-skype-raw-data/dlist-5.0/keyfile.2011-04-24.plain", []byte(snap), 0o644); err != nil {
		t.Fatal(err)
	}
	res := tomBuild(t, 2052).fx.run(t, Options{KeywordListsDir: dir})
	for _, kl := range res.KeywordLists {
		m := kl.Snapshot
		if m == nil || m.Family != "5.0" || m.Date != "2011-04-24" || m.Jaccard != 0.7692 || m.Common != 10 {
			t.Fatalf("snapshot match %+v", m)
		}
		if strings.Join(m.Added, "|") != "新词一|x卧底下载 " || strings.Join(m.Removed, "|") != "林彪" || strings.Join(m.Unknown, "|") != "x卧底下载 |新词一" {
			t.Errorf("added %q removed %q unknown %q", m.Added, m.Removed, m.Unknown)
		}
	}
}

func TestRegularDecoyGoodwareUndetermined(t *testing.T) {
	regular := func(extra string) *fixture {
		fx := newFixture()
		data := bytes.Repeat([]byte{1}, 4096)
		put(data, 100, []byte("\x00http://ui.skype.com/ui/0/5.1.0.112/en/getlatestversion\x00"))
		put(data, 300, []byte("\x00"+extra+"\x00"))
		sum := &pe.Summary{
			Version:   &pe.VersionInfo{Tables: []pe.VersionTable{{Key: "040904b0", Strings: []pe.VersionString{{Key: "CompanyName", Value: "Skype Technologies S.A."}}}}},
			Resources: []pe.Resource{{Type: "VERSION", Name: "1", Lang: 1033, Offset: 0, Size: 16}},
		}
		fx.add(fx.root, "Skype.exe", filetype.PE, data, sum)
		return fx
	}
	res := regular("custom online help").run(t, Options{})
	if res.Verdict.Kind != KindRegular || res.Verdict.Language != "en" || len(res.Endpoints) != 1 || res.Endpoints[0].Class != "version-check" {
		t.Errorf("regular: %+v endpoints %+v", res.Verdict, res.Endpoints)
	}
	res = regular("http://harmless-tom.com/agent/keyfile").run(t, Options{})
	if res.Verdict.Kind != KindRegular {
		t.Errorf("decoy: %+v", res.Verdict)
	}

	fx := newFixture()
	fx.add(fx.root, "COPYING", filetype.Text, []byte("see http://www.gnu.org/licenses/ and 93.184.216.34\n"), nil)
	res = fx.run(t, Options{})
	if res.Verdict.Kind != KindUnrelated || len(res.Endpoints) != 2 || res.Endpoints[0].Class != "other" || len(res.KeywordLists) != 0 || res.DESUploadKey != nil {
		t.Errorf("goodware: %+v", res)
	}
	fx.root.AddIssue(artifact.KindLimit, "unpack:zip", "max entries reached")
	res = fx.run(t, Options{})
	if res.Verdict.Kind != KindUndetermined {
		t.Errorf("limited goodware: %+v", res.Verdict)
	}
}

func TestServerTable(t *testing.T) {
	a := &Result{Endpoints: []Endpoint{{Value: "http://219.133.49.171/u", Host: "219.133.49.171", Class: "surveillance-upload", Country: "CN"}}}
	b := &Result{Endpoints: []Endpoint{{Value: "http://219.133.49.171/U", Host: "219.133.49.171", Class: "surveillance-upload", Country: "CN"}, {Value: "http://skypetools.tom.com/agent/keyfile", Class: "keyword-list"}}}
	rows := ServerTable(map[string]*Result{"b2": b, "a1": a, "none": nil})
	if len(rows) != 2 || rows[0].Class != "keyword-list" || len(rows[1].Builds) != 2 || rows[1].Builds[0] != "a1" || rows[1].Country != "CN" {
		t.Errorf("ServerTable = %+v", rows)
	}
}

func TestHasMarker(t *testing.T) {
	for s, want := range map[string]bool{
		"TOM Online Inc.": true, "(c) tom online": true, "custom online": false, "TOM-Skype": true,
		"MyTOM-Skype2": false, "TOM在线公司": true, "atom online": false,
	} {
		mk := "TOM Online"
		if strings.Contains(strings.ToLower(s), "skype") {
			mk = "TOM-Skype"
		} else if strings.Contains(s, "在线") {
			mk = "TOM在线"
		}
		if got := hasMarker(s, mk); got != want {
			t.Errorf("hasMarker(%q, %q) = %v", s, mk, got)
		}
	}
}

// TestDESAfterListKeys lays out a 3.6-style configuration: list URL, XOR key
// (raw or hex text), a version URL in UTF-16, then the DES key.
func TestDESAfterListKeys(t *testing.T) {
	xorKey := []byte{0x91, 0x22, 0x3a, 0x4c}
	des := []byte{0x8e, 0x01, 0x77, 0xc3, 0x5d, 0xe0, 0x19, 0xaa}
	wide := []byte{}
	for _, r := range "http://skypetools.tom.com/agent/skypever.php?md5=" {
		wide = append(wide, byte(r), 0)
	}
	wide = append(wide, 0, 0)
	for _, tc := range []struct {
		name     string
		key, des []byte
		hexForm  bool
	}{
		{"raw", xorKey, des, false},
		{"hex", []byte(hex.EncodeToString(xorKey) + "\x00"), []byte(hex.EncodeToString(des) + "\x00"), true},
		{"none", xorKey, make([]byte, 16), false},
		{"gbk text after the keys", xorKey, append([]byte("TOM\xd4\xda\xcf\xdf Inc.\x00"), make([]byte, 16)...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg []byte
			cfg = append(cfg, "http://skypetools.tom.com/agent/keyfile\x00"...)
			keyAtOff := len(cfg)
			cfg = append(cfg, tc.key...)
			cfg = append(cfg, wide...)
			desAt := len(cfg)
			cfg = append(cfg, tc.des...)
			cfg = append(cfg, make([]byte, 32)...)
			w := []keysearchWindow{{Node: "c", Offset: 100, Data: cfg}}
			size := len(xorKey)
			if tc.hexForm {
				size *= 2
			}
			got := desAfterKeys(w, []keyAt{{node: "c", offset: int64(100 + keyAtOff), size: size, key: xorKey, hex: tc.hexForm}})
			if tc.name == "none" || tc.name == "gbk text after the keys" {
				if got != nil {
					t.Fatalf("found %+v in a configuration without a DES key", got)
				}
				return
			}
			if got == nil || got.KeyHex != hex.EncodeToString(des) || got.Offset != int64(100+desAt) {
				t.Fatalf("DES = %+v, want %x at %d", got, des, 100+desAt)
			}
		})
	}
}

type keysearchWindow = keysearch.Window

func FuzzDESFields(f *testing.F) {
	f.Add([]byte("http://x.cn/keyfile\x00\x91\x22\x3a\x4c\x8e\x01\x77\xc3\x5d\xe0\x19\xaa"), 20, 4)
	f.Fuzz(func(t *testing.T, data []byte, at, size int) {
		if at < 0 || size < 1 || size > 64 || at > len(data) {
			return
		}
		w := []keysearch.Window{{Node: "n", Data: data}}
		d := desAfterKeys(w, []keyAt{{node: "n", offset: int64(at), size: size, key: bytes.Repeat([]byte{1}, size)}})
		if d != nil && len(d.KeyHex) != 16 {
			t.Fatalf("key %s", d.KeyHex)
		}
		_ = desAfterUpload([]upHit{{node: "n", after: data}}, nil)
	})
}

func TestJointVenture(t *testing.T) {
	build := func(s string) *Result {
		fx := newFixture()
		fx.add(fx.root, "Skype.exe", filetype.PE, []byte("\x00\x00"+s+"\x00\x00"), &pe.Summary{})
		return fx.run(t, Options{})
	}
	if res := build("http://skype.gmw.cn/"); res.Verdict.Kind != KindJointVenture || res.Endpoints[0].Class != "update" {
		t.Errorf("skype.gmw.cn: %+v %+v", res.Verdict, res.Endpoints)
	}
	if res := build("http://www.gmw.cn/news/"); res.Verdict.Kind != KindUnrelated {
		t.Errorf("www.gmw.cn: %+v", res.Verdict)
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenResult pins the JSON of the TOM section for the Chinese fixture:
// field names and order are a contract with the report renderers.
func TestGoldenResult(t *testing.T) {
	if _, err := os.Stat(geoip.DefaultPath); err != nil {
		t.Skipf("%s missing: countries would differ from the golden file", geoip.DefaultPath)
	}
	res := tomBuild(t, 2052).fx.run(t, Options{})
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const golden = "testdata/tom-zh-fixture.golden.json"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/tom -run TestGoldenResult -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("TOM result differs from %s (rerun with -update after checking):\n%s", golden, got)
	}
}

package gen

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tomscan/tomscan/internal/keywords"
)

func TestAESECBRoundTripAndKnownAnswer(t *testing.T) {
	// FIPS-197 appendix C.3: AES-256 known answer for one block.
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	plain, _ := hex.DecodeString("00112233445566778899aabbccddeeff")
	ct, err := EncryptAESECB(plain, key)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(ct[:16]); got != "8ea2b7ca516745bfeafc49904b496089" {
		t.Fatalf("first block = %s", got)
	}
	if len(ct) != 32 { // a full block of padding follows an aligned plaintext
		t.Fatalf("len = %d, want 32", len(ct))
	}
	for _, n := range []int{0, 1, 15, 16, 17, 100} {
		p := bytes.Repeat([]byte{0xA5}, n)
		c, err := EncryptAESECB(p, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(c)%aes.BlockSize != 0 || len(c) <= n {
			t.Fatalf("n=%d: ciphertext length %d", n, len(c))
		}
		back, err := DecryptAESECB(c, key)
		if err != nil || !bytes.Equal(back, p) {
			t.Fatalf("n=%d: round trip failed: %v", n, err)
		}
	}
	if _, err := DecryptAESECB([]byte("short"), key); err == nil {
		t.Fatal("DecryptAESECB accepted a short ciphertext")
	}
}

func TestXORIsItsOwnInverse(t *testing.T) {
	key := []byte{1, 2, 3, 4, 5}
	p := []byte("keyword list \xc1\xf9\xcb\xc4\r\n")
	c := XOR(p, key)
	if bytes.Equal(c, p) {
		t.Fatal("XOR changed nothing")
	}
	if c[5] != p[5]^key[0] {
		t.Fatalf("key does not repeat: %x", c)
	}
	if !bytes.Equal(XOR(c, key), p) {
		t.Fatal("XOR twice is not the identity")
	}
}

func TestDESECBKnownAnswer(t *testing.T) {
	// Classic DES test vector (key 133457799BBCDFF1, plaintext 0123456789ABCDEF).
	key, _ := hex.DecodeString("133457799bbcdff1")
	plain, _ := hex.DecodeString("0123456789abcdef")
	ct, err := EncryptDESECB(plain, key)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(ct[:8]); got != "85e813540f0ab405" {
		t.Fatalf("DES = %s", got)
	}
}

func TestDeriveKeyStableAndDistinct(t *testing.T) {
	a, b := deriveKey("x/keyfile", 32), deriveKey("x/keyfile", 32)
	if !bytes.Equal(a, b) {
		t.Fatal("deriveKey is not stable")
	}
	if bytes.Equal(a, deriveKey("y/keyfile", 32)) {
		t.Fatal("different labels give the same key")
	}
	if got := len(deriveKey("z", 40)); got != 40 {
		t.Fatalf("len = %d", got)
	}
}

func TestParseListGBK(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantLines []string
		wantErr   bool
	}{
		{"crlf and blanks", "法轮功\r\n\r\n六四\r\n", []string{"法轮功", "六四"}, false},
		{"bom and spaces kept", "\uFEFFabc \n  def\n", []string{"abc ", "  def"}, false},
		{"duplicates kept", "x卧底下载 \nx卧底下载\nx卧底下载 \n", []string{"x卧底下载 ", "x卧底下载", "x卧底下载 "}, false},
		{"non-GBK dropped", "ok\n\U0001F600\n", []string{"ok"}, false},
		{"nothing left", "\n\U0001F600\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kl, err := ParseList([]byte(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(kl.Lines, "|") != strings.Join(tc.wantLines, "|") {
				t.Fatalf("lines = %q", kl.Lines)
			}
			back, err := simplifiedchinese.GBK.NewDecoder().Bytes(kl.GBK)
			if err != nil {
				t.Fatal(err)
			}
			if keywords.ExactDigest(keywords.Entries(string(back))) != kl.Digest {
				t.Fatal("digest of the decoded GBK differs")
			}
			if kl.Count != len(keywords.Distinct(tc.wantLines)) || kl.Total != len(tc.wantLines) {
				t.Fatalf("count %d total %d", kl.Count, kl.Total)
			}
			if !bytes.HasSuffix(kl.GBK, []byte("\r\n")) {
				t.Fatal("no CRLF")
			}
		})
	}
}

func FuzzParseList(f *testing.F) {
	f.Add([]byte("法轮功\r\n六四\n"))
	f.Add([]byte("\xff\xfe\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kl, err := ParseList(data)
		if err != nil {
			return
		}
		back, err := simplifiedchinese.GBK.NewDecoder().Bytes(kl.GBK)
		if err != nil {
			t.Fatalf("GBK does not decode: %v", err)
		}
		if keywords.ExactDigest(keywords.Entries(string(back))) != kl.Digest {
			t.Fatal("digest mismatch after GBK round trip")
		}
	})
}

func FuzzDecryptAESECB(f *testing.F) {
	key := deriveKey("fuzz", 32)
	ct, _ := EncryptAESECB([]byte("seed"), key)
	f.Add(ct)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecryptAESECB(data, key)
		if err != nil {
			return
		}
		again, err := EncryptAESECB(p, key)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatal("decrypt then encrypt does not give the input back")
		}
	})
}

func validSpec() Spec {
	return Spec{ID: "tom-en-5.1.4.10-nsis", Kind: KindTOMEnglish, Language: "en", Version: "5.1.4.10", Arch: "x86",
		Wrappers: []string{"nsis"}, Signer: "TOM Online Inc.",
		Endpoints:    []Endpoint{{URL: "http://skypetools.tom.com/agent/keyfile", Class: "keyword-list", Encoding: "ascii", Where: "rdata"}},
		KeywordLists: []ListSpec{{Name: "keyfile", Family: "5.0", Snapshot: "2011-04-24", Cipher: "aes-256-ecb", Location: "rcdata"}}}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Spec)
		ok     bool
	}{
		{"valid", func(*Spec) {}, true},
		{"bad kind", func(s *Spec) { s.Kind = "tom" }, false},
		{"bad version", func(s *Spec) { s.Version = "5.1" }, false},
		{"unknown wrapper", func(s *Spec) { s.Wrappers = []string{"rar"} }, false},
		{"cab inside msi", func(s *Spec) { s.Wrappers = []string{"msi", "cab"} }, false},
		{"unknown signer", func(s *Spec) { s.Signer = "Someone" }, false},
		{"ascii stringtable", func(s *Spec) { s.Endpoints[0].Where = "stringtable" }, false},
		{"list without list URL in rdata", func(s *Spec) { s.Endpoints[0].Where = "config" }, false},
		{"xor key too short", func(s *Spec) { s.KeywordLists[0].Cipher = "xor"; s.KeywordLists[0].XORKeyLen = 3 }, false},
		{"xor key ok", func(s *Spec) { s.KeywordLists[0].Cipher = "xor"; s.KeywordLists[0].XORKeyLen = 4 }, true},
		{"DES key without upload URL in the client", func(s *Spec) { s.DESUploadKey = true }, false},
		{"DES key after upload URL", func(s *Spec) {
			s.DESUploadKey = true
			s.Endpoints = append(s.Endpoints, Endpoint{URL: "http://220.181.111.37/u", Class: "surveillance-upload", Encoding: "ascii", Where: "rdata"})
		}, true},
		{"contentfilter endpoint without companion", func(s *Spec) { s.Endpoints[0].Where = "contentfilter" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			s.Endpoints = append([]Endpoint{}, s.Endpoints...)
			s.KeywordLists = append([]ListSpec{}, s.KeywordLists...)
			tc.mutate(&s)
			if err := s.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestExpectedRules(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"tom with keyfile_u, upload IP, DES, filter", Spec{Kind: KindTOMChinese, ContentFilter: true, DESUploadKey: true, Endpoints: []Endpoint{
			{URL: "http://skypetools.tom.com/agent/keyfile_u", Class: "keyword-list"},
			{URL: "http://220.181.111.37/upload/msg.php", Class: "surveillance-upload"}}},
			"TOMSkype_ContentFilter,TOMSkype_DES_UploadKey,TOMSkype_Endpoint_Agent,TOMSkype_Endpoint_KeyfileU,TOMSkype_Endpoint_UploadIP,TOMSkype_Identity"},
		{"upload by host name is not UploadIP", Spec{Kind: KindTOMEnglish, Endpoints: []Endpoint{
			{URL: "http://upload.tom.com/msg", Class: "surveillance-upload"}}}, "TOMSkype_Identity"},
		{"decoy is regular", Spec{Kind: KindRegular, Decoy: true, Endpoints: []Endpoint{{URL: "http://www.tom.com/", Class: "other"}}}, "Skype_Regular_Identity"},
		{"joint venture", Spec{Kind: KindJointVenture}, "Skype_JointVenture_GMW"},
		{"unrelated", Spec{Kind: KindUnrelated}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(ExpectedRules(&tc.spec), ","); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGUIDShape(t *testing.T) {
	g := guid("x")
	if len(g) != 36 || strings.Count(g, "-") != 4 || g != guid("x") || g == guid("y") {
		t.Fatalf("guid = %s", g)
	}
}

func TestLoadSpecsOfTheRepo(t *testing.T) {
	specs, err := LoadSpecs("../specs")
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) < 40 {
		t.Fatalf("%d specs, want at least 40", len(specs))
	}
	kinds := map[string]int{}
	wrappers := map[string]int{}
	for _, s := range specs {
		kinds[s.Kind]++
		for _, w := range s.Wrappers {
			wrappers[w]++
		}
		if len(s.Wrappers) > 1 && s.Wrappers[0] == "zip" && s.Wrappers[1] == "msi" {
			wrappers["zip>msi"]++
		}
	}
	for _, k := range []string{KindRegular, KindTOMEnglish, KindTOMChinese, KindJointVenture, KindUnrelated} {
		if kinds[k] == 0 {
			t.Errorf("no build of kind %s", k)
		}
	}
	for w := range knownWrappers {
		if wrappers[w] == 0 {
			t.Errorf("no build with wrapper %s", w)
		}
	}
	if wrappers["zip>msi"] == 0 {
		t.Error("no nested zip>msi(>cab) build")
	}
}

func TestSyntheticListsCoverSpecs(t *testing.T) {
	specs, err := LoadSpecs("../specs")
	if err != nil {
		t.Fatal(err)
	}
	dir := "../testdata/synthetic-keyword-lists"
	if KeywordSource(dir) != "synthetic" {
		t.Fatal("synthetic folder is not marked SYNTHETIC")
	}
	for _, s := range specs {
		for _, l := range s.KeywordLists {
			kl, err := LoadList(dir, l.Family, l.Name, l.Snapshot)
			if err != nil {
				t.Errorf("%s: %v", s.ID, err)
				continue
			}
			if kl.Count < 10 || kl.Count > 40 {
				t.Errorf("%s: synthetic list has %d entries, want 10..40", s.ID, kl.Count)
			}
		}
	}
}

func TestRCString(t *testing.T) {
	tests := []struct {
		mode, in, want string
		wantErr        bool
	}{
		{"gbk", "Skype", `"Skype"`, false},
		{"gbk", "TOM在线", "\"TOM\xd4\xda\xcf\xdf\"", false},
		{"utf16", "TOM在线", `L"\x0054\x004f\x004d\x5728\x7ebf"`, false},
		{"gbk", `say "hi"`, "", true},
		{"gbk", `C:\path`, "", true},
		{"gbk", "\U0001F600", "", true}, // not in GBK
	}
	for _, tc := range tests {
		p := &peDesc{textMode: tc.mode}
		got, err := p.rcString(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("rcString(%s, %q) = %q, %v; want %q, err=%v", tc.mode, tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

package gen

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tomscan/tomscan/internal/keywords"
)

// corpusDir returns $TOMSCAN_CORPUS or skips.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS is not set (make test sets it)")
	}
	return dir
}

func readManifest(t *testing.T, dir string) *Manifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return &m
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// TestCorpusManifestAgainstFiles checks every build of $TOMSCAN_CORPUS: the
// file and its hash, its whole tree as the reference tools extract it (every
// listed file, and nothing unlisted), endpoints in the stated encoding, keys
// near a list URL, and every keyword list decrypting to its digest.
func TestCorpusManifestAgainstFiles(t *testing.T) {
	dir := corpusDir(t)
	m := readManifest(t, dir)
	if m.SchemaVersion != "1" || (m.KeywordSource != "citizenlab" && m.KeywordSource != "synthetic") {
		t.Fatalf("schema %q, keyword source %q", m.SchemaVersion, m.KeywordSource)
	}
	if len(m.Builds) < 40 {
		t.Fatalf("%d builds, want at least 40", len(m.Builds))
	}
	// Cleanup, not defer: the parallel subtests run after this function returns.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	for _, b := range m.Builds {
		t.Run(b.ID, func(t *testing.T) {
			t.Parallel()
			checkBuild(t, ctx, dir, b)
		})
	}
}

func checkBuild(t *testing.T, ctx context.Context, dir string, b Build) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(b.File)))
	if err != nil {
		t.Fatal(err)
	}
	if sha256Hex(data) != b.SHA256 || int64(len(data)) != b.Size {
		t.Fatalf("build file hash/size differ from the manifest")
	}
	if filepath.Base(b.File) != b.ID+Extension(b.Wrappers[0]) { // .tar.gz, .tar.xz: two extensions
		t.Errorf("file %s does not carry the id", b.File)
	}
	root := filepath.Base(b.File)
	tree := refTree(t, ctx, root, data)
	listed := map[string]File{}
	for _, f := range b.Files {
		key := strings.Join(f.Path, "!")
		listed[key] = f
		got, ok := tree[key]
		if !ok {
			t.Errorf("listed file %s not found by the reference tools", key)
			continue
		}
		if sha256Hex(got) != f.SHA256 || int64(len(got)) != f.Size {
			t.Errorf("%s: hash/size differ", key)
		}
		if isPE(got) != f.PE {
			t.Errorf("%s: pe=%v in manifest", key, f.PE)
		}
	}
	var extra []string
	for key := range tree {
		if _, ok := listed[key]; !ok {
			extra = append(extra, key)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("files the manifest does not list: %v", extra)
	}
	fileBytes := func(path []string) []byte {
		got, ok := tree[strings.Join(path, "!")]
		if !ok {
			t.Fatalf("path %v is not in the tree", path)
		}
		return got
	}
	var listURLs [][]byte // positions to check keys against, per client
	for _, e := range b.Endpoints {
		needle := []byte(e.Value)
		if e.Encoding == "utf16le" {
			needle = utf16le(e.Value)
		}
		hay := fileBytes(e.Path)
		if !bytes.Contains(hay, needle) {
			t.Errorf("endpoint %s (%s) not in %v", e.Value, e.Encoding, e.Path)
		}
		if e.Class == "keyword-list" {
			listURLs = append(listURLs, needle)
		}
	}
	for _, kl := range b.KeywordLists {
		checkKeywordList(t, b, kl, fileBytes(kl.Path), listURLs, tree)
	}
	if b.DESUploadKey != nil {
		key, _ := hex.DecodeString(b.DESUploadKey.KeyHex)
		client := fileBytes(b.DESUploadKey.Path)
		if len(key) != 8 || (!bytes.Contains(client, key) && !bytes.Contains(client, []byte(b.DESUploadKey.KeyHex))) {
			t.Errorf("DES upload key %s not in %v", b.DESUploadKey.KeyHex, b.DESUploadKey.Path)
		}
	}
}

func checkKeywordList(t *testing.T, b Build, kl KeywordGT, holder []byte, listURLs [][]byte, tree map[string][]byte) {
	key, err := hex.DecodeString(kl.KeyHex)
	if err != nil {
		t.Fatalf("%s: key_hex: %v", kl.Name, err)
	}
	var candidates [][]byte
	if kl.Location == "rcdata" {
		candidates, err = rcdataLeaves(holder)
		if err != nil {
			t.Fatalf("%s: resources of %v: %v", kl.Name, kl.Path, err)
		}
	} else {
		candidates = [][]byte{holder}
	}
	decrypt := func(ct []byte) []byte {
		switch kl.Cipher {
		case "xor":
			return XOR(ct, key)
		case "aes-256-ecb":
			p, err := DecryptAESECB(ct, key)
			if err != nil {
				return nil
			}
			return p
		}
		return ct
	}
	found := false
	for _, ct := range candidates {
		plain := decrypt(ct)
		if plain == nil {
			continue
		}
		text, err := simplifiedchinese.GBK.NewDecoder().Bytes(plain)
		if err != nil {
			continue
		}
		// Byte for byte: the exact entries, in order, duplicates included.
		lines := keywords.Entries(string(text))
		if keywords.ExactDigest(lines) == kl.SHA256 && len(keywords.Distinct(lines)) == kl.Count && len(lines) == kl.EntriesTotal &&
			keywords.Digest(lines) == kl.NormalizedSHA256 {
			found = true
			if sha256Hex(ct) != kl.CiphertextSHA256 {
				t.Errorf("%s: ciphertext hash differs", kl.Name)
			}
		}
	}
	if !found {
		t.Errorf("%s (%s, %s in %v): nothing decrypts to digest %s", kl.Name, kl.Cipher, kl.Location, kl.Path, kl.SHA256)
	}
	if kl.Cipher == "none" {
		return
	}
	// The key lives in the client PE within 4 KiB of a keyword-list URL.
	var client []byte
	for _, f := range b.Files {
		if f.Role == "client" {
			client = tree[strings.Join(f.Path, "!")]
		}
	}
	near := false
	for _, form := range [][]byte{key, []byte(kl.KeyHex)} {
		k := bytes.Index(client, form)
		if k < 0 {
			continue
		}
		for _, u := range listURLs {
			for off := 0; ; {
				j := bytes.Index(client[off:], u)
				if j < 0 {
					break
				}
				if d := off + j - k; d < 4096 && d > -4096 {
					near = true
				}
				off += j + 1
			}
		}
	}
	if !near {
		t.Errorf("%s: key not within 4 KiB of a keyword-list URL in the client", kl.Name)
	}
}

// determinismSubset covers every wrapper, both compilers, GBK and UTF-16
// resource text, signing and the SFX module, in a few seconds per build.
var determinismSubset = []string{
	"gmw-zh-6.3.0.105-7z-sfx",       // 7z SFX, x64, signed
	"skype-en-5.5.0.113-append-zip", // PE + appended ZIP
	"tom-en-5.0.0.158-append-7z",    // PE + appended 7z
	"tom-en-5.1.4.10-nsis",          // NSIS, signed, x86
	"tom-zh-4.0.0.227-7z",           // 7z, UTF-16 text, xor
	"tom-zh-5.0.0.156-zip-msi",      // ZIP > MSI > CAB, signed MSI
	"tom-zh-5.1.0.104-cab",          // CAB (gcab), GBK text
	"tom-zh-3.8.0.139-inno",         // Inno Setup 5.1.2 ANSI (our writer), signed
}

// TestDeterminism builds a representative subset into a fresh folder and
// compares every hash with $TOMSCAN_CORPUS (same keyword source), or with a
// second fresh build when the corpus is absent.
func TestDeterminism(t *testing.T) {
	if testing.Short() {
		t.Skip("builds installers; skipped in -short")
	}
	keywordsDir := os.Getenv("TOMSCAN_KEYWORD_LISTS")
	if keywordsDir == "" {
		keywordsDir = "../testdata/synthetic-keyword-lists"
	}
	build := func() *Manifest {
		out := t.TempDir()
		g, err := New(Config{SpecsDir: "../specs", KeywordsDir: keywordsDir, OutDir: out, CertDir: "../testdata/certs", Only: determinismSubset})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		m, err := g.Generate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	fresh := build()
	var ref *Manifest
	if dir := os.Getenv("TOMSCAN_CORPUS"); dir != "" && readManifest(t, dir).KeywordSource == KeywordSource(keywordsDir) {
		ref = readManifest(t, dir)
	} else {
		ref = build()
	}
	byID := map[string]Build{}
	for _, b := range ref.Builds {
		byID[b.ID] = b
	}
	for _, b := range fresh.Builds {
		r, ok := byID[b.ID]
		if !ok {
			t.Errorf("%s missing from the reference", b.ID)
			continue
		}
		if b.SHA256 != r.SHA256 {
			t.Errorf("%s: build hash %s, reference %s", b.ID, b.SHA256, r.SHA256)
		}
		a, _ := json.Marshal(b)
		c, _ := json.Marshal(r)
		if !bytes.Equal(a, c) {
			t.Errorf("%s: manifest entries differ", b.ID)
		}
	}
	if len(fresh.Builds) != len(determinismSubset) {
		t.Fatalf("built %d of %d", len(fresh.Builds), len(determinismSubset))
	}
}

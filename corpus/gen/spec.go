// Package gen builds the synthetic corpus: it turns declarative build specs
// into real Windows PEs (mingw-w64 + windres), wraps them with the era's
// installer toolchains and records the ground truth in a manifest.
package gen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Kinds of build, as named in docs/contracts.md.
const (
	KindRegular      = "regular-skype"
	KindTOMEnglish   = "tom-skype-english"
	KindTOMChinese   = "tom-skype-chinese"
	KindJointVenture = "post-tom-joint-venture"
	KindUnrelated    = "unrelated"
)

// Spec is one build, as written in corpus/specs/<id>.json.
type Spec struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Decoy    bool   `json:"decoy,omitempty"`
	Language string `json:"language"`
	Version  string `json:"version"`
	// Arch picks the compiler: "x86" (i686) or "x64" (x86_64).
	Arch string `json:"arch"`
	// Wrappers, outermost first (nsis, msi, cab, zip, 7z, append-zip, append-7z, 7z-sfx, inno,
	// tar, tar.gz, tar.xz, zip-infected, 7z-encrypted).
	Wrappers []string `json:"wrappers"`
	// Signer is the certificate subject used for the client and the outer
	// installer when it is a PE or MSI; "" leaves everything unsigned.
	Signer string `json:"signer"`
	// ChineseText selects how Chinese UI strings reach the .rc file:
	// "gbk" (#pragma code_page(936) + GBK bytes) or "utf16" (L"\x...." escapes).
	ChineseText string `json:"chinese_text,omitempty"`
	// InstallDir is the directory under Program Files (MSI paths).
	InstallDir string `json:"install_dir,omitempty"`
	// ClientName is the main executable's name (Skype.exe unless unrelated).
	ClientName    string `json:"client_name,omitempty"`
	ContentFilter bool   `json:"content_filter,omitempty"`
	// ContentFilterLanguage is ContentFilter.exe's UI language when it
	// differs from the client's: an English helper beside a Chinese
	// Skype.exe ("en"). Default: the build's language.
	ContentFilterLanguage string     `json:"content_filter_language,omitempty"`
	Helper                bool       `json:"helper,omitempty"`
	HelpText              string     `json:"help_text,omitempty"`
	Endpoints             []Endpoint `json:"endpoints"`
	KeywordLists          []ListSpec `json:"keyword_lists,omitempty"`
	DESUploadKey          bool       `json:"des_upload_key,omitempty"`
	// KeyForm is how keys sit in the client's data: "raw" bytes or "ascii" hex.
	KeyForm string `json:"key_form,omitempty"`
	// InnoVersion is the Inno Setup data version an "inno" wrapper writes
	// (a key of innoVersions; default "5.5.0u").
	InnoVersion string `json:"inno_version,omitempty"`
}

// Endpoint is one URL the build carries, and where it lives.
type Endpoint struct {
	URL      string `json:"url"`
	Class    string `json:"class"`
	Encoding string `json:"encoding"` // ascii | utf16le
	// Where: "rdata" (client config struct), "stringtable" (client STRINGTABLE),
	// "config" (config file shipped in the installer), "contentfilter"
	// (ContentFilter.exe data).
	Where string `json:"where"`
}

// ListSpec is one keyword list the build ships encrypted.
type ListSpec struct {
	Name     string `json:"name"`     // keyfile | keyfile_u
	Family   string `json:"family"`   // dlist-<family>
	Snapshot string `json:"snapshot"` // date in the file name
	Cipher   string `json:"cipher"`   // xor | aes-256-ecb | none
	// XORKeyLen is the XOR key length (4..32), xor only.
	XORKeyLen int    `json:"xor_key_len,omitempty"`
	Location  string `json:"location"` // rcdata | installer-file | cache-file
}

var (
	idPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-]{2,80}$`)
	versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
	knownWrappers  = map[string]bool{"nsis": true, "msi": true, "cab": true, "zip": true, "7z": true,
		"append-zip": true, "append-7z": true, "7z-sfx": true, "inno": true,
		"tar": true, "tar.gz": true, "tar.xz": true, "zip-infected": true, "7z-encrypted": true}
)

// Validate checks a spec for what the generator relies on.
func (s *Spec) Validate() error {
	if !idPattern.MatchString(s.ID) {
		return fmt.Errorf("spec %q: bad id", s.ID)
	}
	switch s.Kind {
	case KindRegular, KindTOMEnglish, KindTOMChinese, KindJointVenture, KindUnrelated:
	default:
		return fmt.Errorf("spec %s: unknown kind %q", s.ID, s.Kind)
	}
	if s.Language != "en" && s.Language != "zh" {
		return fmt.Errorf("spec %s: language %q", s.ID, s.Language)
	}
	switch s.ContentFilterLanguage {
	case "":
	case "en", "zh":
		if !s.ContentFilter {
			return fmt.Errorf("spec %s: content_filter_language without content_filter", s.ID)
		}
	default:
		return fmt.Errorf("spec %s: content_filter_language %q", s.ID, s.ContentFilterLanguage)
	}
	if !versionPattern.MatchString(s.Version) {
		return fmt.Errorf("spec %s: version %q", s.ID, s.Version)
	}
	if s.Arch != "x86" && s.Arch != "x64" {
		return fmt.Errorf("spec %s: arch %q", s.ID, s.Arch)
	}
	if len(s.Wrappers) == 0 {
		return fmt.Errorf("spec %s: no wrappers", s.ID)
	}
	for i, w := range s.Wrappers {
		if !knownWrappers[w] {
			return fmt.Errorf("spec %s: unknown wrapper %q", s.ID, w)
		}
		if i < len(s.Wrappers)-1 && (w == "msi" && s.Wrappers[i+1] == "cab") {
			return fmt.Errorf("spec %s: msi always embeds its cab; do not list cab inside", s.ID)
		}
	}
	if s.Signer != "" {
		if _, ok := signers[s.Signer]; !ok {
			return fmt.Errorf("spec %s: unknown signer %q", s.ID, s.Signer)
		}
	}
	switch s.ChineseText {
	case "", "gbk", "utf16":
	default:
		return fmt.Errorf("spec %s: chinese_text %q", s.ID, s.ChineseText)
	}
	if s.InnoVersion != "" {
		if _, ok := innoVersions[s.InnoVersion]; !ok {
			return fmt.Errorf("spec %s: inno_version %q", s.ID, s.InnoVersion)
		}
	}
	switch s.KeyForm {
	case "", "raw", "ascii":
	default:
		return fmt.Errorf("spec %s: key_form %q", s.ID, s.KeyForm)
	}
	hasListURL, hasUploadInClient := false, false
	for _, e := range s.Endpoints {
		if e.Encoding != "ascii" && e.Encoding != "utf16le" {
			return fmt.Errorf("spec %s: endpoint %s: encoding %q", s.ID, e.URL, e.Encoding)
		}
		switch e.Class {
		case "surveillance-upload", "keyword-list", "version-check", "update", "other":
		default:
			return fmt.Errorf("spec %s: endpoint %s: class %q", s.ID, e.URL, e.Class)
		}
		switch e.Where {
		case "rdata", "config":
		case "stringtable":
			if e.Encoding != "utf16le" {
				return fmt.Errorf("spec %s: endpoint %s: a STRINGTABLE holds UTF-16LE only", s.ID, e.URL)
			}
		case "contentfilter":
			if !s.ContentFilter {
				return fmt.Errorf("spec %s: endpoint %s: no ContentFilter.exe", s.ID, e.URL)
			}
		default:
			return fmt.Errorf("spec %s: endpoint %s: where %q", s.ID, e.URL, e.Where)
		}
		if e.Class == "keyword-list" && e.Where == "rdata" {
			hasListURL = true
		}
		if e.Class == "surveillance-upload" && e.Where == "rdata" {
			hasUploadInClient = true
		}
	}
	// The 3.6/4.0 clients kept the DES key right after the upload URL.
	if s.DESUploadKey && !hasUploadInClient {
		return fmt.Errorf("spec %s: des_upload_key needs a surveillance-upload endpoint in the client's rdata", s.ID)
	}
	for _, l := range s.KeywordLists {
		if l.Name != "keyfile" && l.Name != "keyfile_u" {
			return fmt.Errorf("spec %s: list name %q", s.ID, l.Name)
		}
		switch l.Cipher {
		case "aes-256-ecb", "none":
		case "xor":
			if l.XORKeyLen < 4 || l.XORKeyLen > 32 {
				return fmt.Errorf("spec %s: xor key length %d not in 4..32", s.ID, l.XORKeyLen)
			}
		default:
			return fmt.Errorf("spec %s: cipher %q", s.ID, l.Cipher)
		}
		switch l.Location {
		case "rcdata", "installer-file", "cache-file":
		default:
			return fmt.Errorf("spec %s: list location %q", s.ID, l.Location)
		}
		// The contract promises the key within 4 KiB of a list URL in the client.
		if !hasListURL {
			return fmt.Errorf("spec %s: keyword list without a keyword-list URL in the client's rdata", s.ID)
		}
	}
	return nil
}

func (s *Spec) clientName() string {
	if s.ClientName != "" {
		return s.ClientName
	}
	return "Skype.exe"
}

func (s *Spec) installDir() string {
	if s.InstallDir != "" {
		return s.InstallDir
	}
	return "Skype/Phone"
}

func (s *Spec) keyForm() string {
	if s.KeyForm == "" {
		return "raw"
	}
	return s.KeyForm
}

func (s *Spec) isTOM() bool { return s.Kind == KindTOMEnglish || s.Kind == KindTOMChinese }

// LoadSpecs reads every *.json in dir, sorted by id; ids must be unique.
func LoadSpecs(dir string) ([]*Spec, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("specs: list %s: %w", dir, err)
	}
	var specs []*Spec
	seen := map[string]string{}
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("specs: read %s: %w", n, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		var s Spec
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("specs: parse %s: %w", n, err)
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("specs: %s: %w", n, err)
		}
		if want := strings.TrimSuffix(filepath.Base(n), ".json"); want != s.ID {
			return nil, fmt.Errorf("specs: %s: id %q differs from the file name", n, s.ID)
		}
		if prev, dup := seen[s.ID]; dup {
			return nil, fmt.Errorf("specs: id %s in both %s and %s", s.ID, prev, n)
		}
		seen[s.ID] = n
		specs = append(specs, &s)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("specs: no *.json in %s", dir)
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].ID < specs[j].ID })
	return specs, nil
}

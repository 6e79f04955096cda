package gen

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"archive/zip"
	"bytes"
	"io"

	"github.com/tomscan/tomscan/internal/ios/ipabuild"
	"github.com/tomscan/tomscan/macho/machobuild"
)

// IPASpec is one iOS build, from corpus/specs/ios/<id>.json. The Mach-O
// executable is a small Go program (GOOS=darwin) whose data holds the
// spec's identity strings and endpoints; everything else is what an App
// Store IPA carries.
type IPASpec struct {
	ID                string            `json:"id"`
	Kind              string            `json:"kind"`
	Decoy             bool              `json:"decoy"`
	Language          string            `json:"language"`
	Version           string            `json:"version"` // CFBundleVersion
	ShortVersion      string            `json:"short_version"`
	AppName           string            `json:"app_name"` // bundle folder and executable name
	BundleID          string            `json:"bundle_id"`
	DisplayName       string            `json:"display_name"`
	MinimumOS         string            `json:"minimum_os"`
	DevelopmentRegion string            `json:"development_region"`
	Localizations     []string          `json:"localizations"`
	Lproj             map[string]string `json:"lproj"` // language -> welcome text in Localizable.strings
	URLSchemes        []string          `json:"url_schemes"`
	BackgroundModes   []string          `json:"background_modes"`
	ATS               []IPAATS          `json:"ats"`
	BinaryInfoPlist   bool              `json:"binary_info_plist"`
	Universal         bool              `json:"universal"` // arm64 + x86_64 joined
	Encrypted         bool              `json:"encrypted"` // LC_ENCRYPTION_INFO_64 cryptid 1 over __text, bytes scrambled
	Signer            string            `json:"signer"`    // signers[] name; code signature and provisioning profile
	TeamID            string            `json:"team_id"`
	Entitlements      map[string]any    `json:"entitlements"`
	Provision         bool              `json:"provision"`
	ITunes            *IPAITunes        `json:"itunes"` // nil: no iTunesMetadata.plist
	Strings           []string          `json:"strings"`
	Endpoints         []IPAEndpoint     `json:"endpoints"`
}

// IPAATS is one NSExceptionDomains entry.
type IPAATS struct {
	Domain       string `json:"domain"`
	Subdomains   bool   `json:"subdomains"`
	InsecureHTTP bool   `json:"insecure_http"`
}

// IPAITunes is the store's metadata.
type IPAITunes struct {
	ItemID      uint64 `json:"item_id"`
	Artist      string `json:"artist"`
	Genre       string `json:"genre"`
	ReleaseDate string `json:"release_date"`
	Storefront  uint64 `json:"storefront"`
}

// IPAEndpoint is an endpoint in the executable's data.
type IPAEndpoint struct {
	URL      string `json:"url"`
	Class    string `json:"class"`
	Encoding string `json:"encoding"` // ascii | utf16le
}

// ClassPlainHTTP is the manifest class of a host that Info.plist's ATS
// exceptions allow over plain HTTP (internal/tom gives the same class).
const ClassPlainHTTP = "plain-http-allowed"

// LoadIPASpecs reads every <dir>/*.json.
func LoadIPASpecs(dir string) ([]*IPASpec, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("ios specs: %w", err)
	}
	var out []*IPASpec
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("ios specs: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var s IPASpec
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("ios specs: parse %s: %w", n, err)
		}
		if want := strings.TrimSuffix(filepath.Base(n), ".json"); want != s.ID {
			return nil, fmt.Errorf("ios specs: %s: id %q differs from the file name", n, s.ID)
		}
		if s.AppName == "" || s.BundleID == "" || strings.ContainsAny(s.AppName, "/\\") {
			return nil, fmt.Errorf("ios specs: %s: app_name and bundle_id are required", n)
		}
		out = append(out, &s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// generateIPAs builds every iOS spec (SpecsDir/ios) into buildsDir.
func (g *Generator) generateIPAs(ctx context.Context, buildsDir, workDir string) ([]Build, error) {
	specs, err := LoadIPASpecs(filepath.Join(g.cfg.SpecsDir, "ios"))
	if err != nil {
		return nil, err
	}
	var out []Build
	for _, s := range specs {
		data, b, err := g.buildIPA(ctx, s, filepath.Join(workDir, s.ID))
		if err != nil {
			return nil, fmt.Errorf("gen: %s: %w", s.ID, err)
		}
		if err := os.WriteFile(filepath.Join(g.cfg.OutDir, b.File), data, 0o644); err != nil {
			return nil, fmt.Errorf("gen: write %s: %w", b.File, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// goProgram is the executable's source: every string NUL-terminated (as C
// strings are) and referenced, so the linker keeps it.
func goProgram(s *IPASpec) string {
	var lits []string
	for _, x := range s.Strings {
		lits = append(lits, strconv.Quote(x+"\x00"))
	}
	for _, e := range s.Endpoints {
		v := e.URL + "\x00"
		if e.Encoding == "utf16le" {
			v = string(utf16leBytes(e.URL)) + "\x00\x00"
		}
		lits = append(lits, strconv.Quote(v))
	}
	return "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nvar data = []string{\n\t" + strings.Join(lits, ",\n\t") +
		",\n}\n\nfunc main() {\n\tif len(os.Args) > 99 {\n\t\tfmt.Println(data)\n\t}\n}\n"
}

func utf16leBytes(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// goDarwin compiles the program for darwin/goarch, reproducibly.
func goDarwin(ctx context.Context, dir, goarch, src string) ([]byte, error) {
	d := filepath.Join(dir, goarch)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(d, "main.go"), []byte(src), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(d, "go.mod"), []byte("module app\n\ngo 1.21\n"), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", "app", ".")
	cmd.Dir = d
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build darwin/%s: %w: %s", goarch, err, out)
	}
	return os.ReadFile(filepath.Join(d, "app"))
}

// loadSigner reads a corpus certificate and key by manifest signer name.
func loadSigner(certDir, name string) (*x509.Certificate, crypto.PrivateKey, error) {
	base, ok := signers[name]
	if !ok {
		return nil, nil, fmt.Errorf("unknown signer %q", name)
	}
	cp, err := os.ReadFile(filepath.Join(certDir, base+".crt"))
	if err != nil {
		return nil, nil, err
	}
	kp, err := os.ReadFile(filepath.Join(certDir, base+".key"))
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(cp)
	kb, _ := pem.Decode(kp)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("signer %s: no PEM", name)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// scramble stands in for FairPlay: the __text bytes become AES-CTR
// keystream XOR code (key and IV from the build id, so deterministic), and
// LC_ENCRYPTION_INFO_64 says cryptid 1 over exactly that range.
func scramble(id string, thin []byte) ([]byte, error) {
	off, size, err := machobuild.TextRange(thin)
	if err != nil {
		return nil, err
	}
	k := sha256.Sum256([]byte("fairplay-stand-in:" + id))
	blk, err := aes.NewCipher(k[:16])
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), thin...)
	cipher.NewCTR(blk, k[16:32]).XORKeyStream(out[off:off+size], out[off:off+size])
	return machobuild.AddEncryptionInfo(out, off, size, 1)
}

func (g *Generator) buildIPA(ctx context.Context, s *IPASpec, work string) ([]byte, Build, error) {
	src := goProgram(s)
	archs := []string{"arm64"}
	if s.Universal {
		archs = append(archs, "amd64")
	}
	var cert *x509.Certificate
	var key crypto.PrivateKey
	if s.Signer != "" {
		var err error
		if cert, key, err = loadSigner(g.cfg.CertDir, s.Signer); err != nil {
			return nil, Build{}, err
		}
	}
	var ents []byte
	if s.Entitlements != nil {
		var err error
		if ents, err = ipabuild.Plist(s.Entitlements, false); err != nil {
			return nil, Build{}, err
		}
	}
	var slices [][]byte
	for _, a := range archs {
		thin, err := goDarwin(ctx, work, a, src)
		if err != nil {
			return nil, Build{}, err
		}
		if s.Encrypted {
			if thin, err = scramble(s.ID+"/"+a, thin); err != nil {
				return nil, Build{}, err
			}
		}
		if cert != nil && a == "arm64" {
			// The Go linker signs darwin/arm64 ad hoc; App Store builds carry
			// the developer's identity, team and entitlements.
			if thin, err = machobuild.Sign(thin, machobuild.SignOptions{Identifier: s.BundleID, TeamID: s.TeamID, Entitlements: ents, Cert: cert, Key: key}); err != nil {
				return nil, Build{}, err
			}
		}
		slices = append(slices, thin)
	}
	exe := slices[0]
	if len(slices) > 1 {
		var err error
		if exe, err = machobuild.JoinFat(14, slices...); err != nil {
			return nil, Build{}, err
		}
	}

	info := map[string]any{
		"CFBundleIdentifier": s.BundleID, "CFBundleExecutable": s.AppName, "CFBundleName": s.AppName,
		"CFBundleDisplayName": s.DisplayName, "CFBundleShortVersionString": s.ShortVersion, "CFBundleVersion": s.Version,
		"MinimumOSVersion": s.MinimumOS, "CFBundleDevelopmentRegion": s.DevelopmentRegion, "CFBundlePackageType": "APPL",
		"UIDeviceFamily": []any{uint64(1)}, "LSRequiresIPhoneOS": true,
	}
	if len(s.Localizations) > 0 {
		info["CFBundleLocalizations"] = anys(s.Localizations)
	}
	if len(s.URLSchemes) > 0 {
		info["CFBundleURLTypes"] = []any{map[string]any{"CFBundleURLName": s.BundleID, "CFBundleURLSchemes": anys(s.URLSchemes)}}
	}
	if len(s.BackgroundModes) > 0 {
		info["UIBackgroundModes"] = anys(s.BackgroundModes)
	}
	if len(s.ATS) > 0 {
		dom := map[string]any{}
		for _, a := range s.ATS {
			e := map[string]any{"NSIncludesSubdomains": a.Subdomains}
			if a.InsecureHTTP {
				e["NSExceptionAllowsInsecureHTTPLoads"] = true
			} else {
				e["NSExceptionMinimumTLSVersion"] = "TLSv1.2"
			}
			dom[a.Domain] = e
		}
		info["NSAppTransportSecurity"] = map[string]any{"NSExceptionDomains": dom}
	}
	lproj := map[string]map[string]string{}
	for lang, text := range s.Lproj {
		lproj[lang] = map[string]string{"Welcome": text}
	}
	spec := ipabuild.Spec{AppName: s.AppName, Executable: s.AppName, Binary: exe, Info: info, BinaryInfo: s.BinaryInfoPlist,
		Lproj: lproj, ModifiedTime: time.Unix(fixedEpoch, 0).UTC()}
	if s.ITunes != nil {
		spec.ITunes = map[string]any{"itemId": s.ITunes.ItemID, "itemName": s.DisplayName, "artistName": s.ITunes.Artist,
			"genre": s.ITunes.Genre, "releaseDate": s.ITunes.ReleaseDate, "softwareVersionBundleId": s.BundleID,
			"bundleShortVersionString": s.ShortVersion, "bundleVersion": s.Version, "kind": "software"}
		if s.ITunes.Storefront != 0 {
			spec.ITunes["s"] = s.ITunes.Storefront
		}
	}
	if s.Provision {
		if cert == nil {
			return nil, Build{}, fmt.Errorf("a provisioning profile needs a signer")
		}
		u := sha256.Sum256([]byte("profile:" + s.ID))
		spec.Provision = map[string]any{"Name": s.DisplayName + " Distribution (SYNTHETIC)", "AppIDName": s.DisplayName,
			"TeamIdentifier": []any{s.TeamID}, "TeamName": cert.Subject.CommonName,
			"UUID":         fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]),
			"CreationDate": time.Unix(fixedEpoch, 0).UTC(), "ExpirationDate": time.Unix(fixedEpoch, 0).UTC().AddDate(1, 0, 0),
			"Entitlements": s.Entitlements, "Platform": []any{"iOS"}}
		spec.ProvCert, spec.ProvKey = cert, key
	}
	data, err := ipabuild.Build(spec)
	if err != nil {
		return nil, Build{}, err
	}
	name := s.ID + ".ipa"
	b := Build{ID: s.ID, File: "builds/" + name, SHA256: sha256Hex(data), Size: int64(len(data)), Kind: s.Kind, Decoy: s.Decoy,
		Language: s.Language, Version: s.Version, Wrappers: []string{"ipa"}, Signer: s.Signer,
		Files: []File{}, Endpoints: []EndpointGT{}, KeywordLists: []KeywordGT{}, ExpectedRules: ipaExpectedRules(s)}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, Build{}, err
	}
	exeEntry := "Payload/" + s.AppName + ".app/" + s.AppName
	infoEntry := "Payload/" + s.AppName + ".app/Info.plist"
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, Build{}, err
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, Build{}, err
		}
		role := "other"
		switch {
		case f.Name == exeEntry:
			role = "client"
		case strings.HasSuffix(f.Name, ".plist") || strings.HasSuffix(f.Name, ".mobileprovision"):
			role = "config"
		}
		b.Files = append(b.Files, File{Path: []string{name, f.Name}, SHA256: sha256Hex(content), Size: int64(len(content)), Role: role})
	}
	for _, e := range s.Endpoints {
		b.Endpoints = append(b.Endpoints, EndpointGT{Value: e.URL, Host: hostOf(e.URL), Class: e.Class, Encoding: e.Encoding, Path: []string{name, exeEntry}})
	}
	for _, a := range s.ATS {
		if a.InsecureHTTP {
			b.Endpoints = append(b.Endpoints, EndpointGT{Value: a.Domain, Host: a.Domain, Class: ClassPlainHTTP, Encoding: "ascii", Path: []string{name, infoEntry}})
		}
	}
	return data, b, nil
}

// ipaExpectedRules follows the build-level rule table of docs/contracts.md.
func ipaExpectedRules(s *IPASpec) []string {
	switch s.Kind {
	case "regular-skype":
		return []string{"Skype_Regular_Identity"}
	case "post-tom-joint-venture":
		return []string{"Skype_JointVenture_GMW"}
	}
	return []string{}
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

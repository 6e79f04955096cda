package pe

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/tomscan/tomscan/corpus/manifest/manifesttest"
)

// corpusGolden is what the golden file of a corpus PE pins: what an analyst
// reads to tell TOM-Skype from Skype.
type corpusGolden struct {
	Path        []string      `json:"path"`
	Role        string        `json:"role"`
	Version     *VersionInfo  `json:"version_info"`
	StringTable []TableString `json:"string_table"`
	Dialogs     []Dialog      `json:"dialogs"`
	Signer      string        `json:"signer,omitempty"`
	Issuer      string        `json:"issuer,omitempty"`
	DigestOK    bool          `json:"digest_matches,omitempty"`
	Resources   []string      `json:"resources"` // node names
}

// unpackTree extracts file into dir with the reference tools (7z for
// NSIS/ZIP/7z/CAB/MSI/SFX, innoextract for Inno Setup), recursing into what
// comes out, and returns the bytes of every file found, by sha256. The
// extractor packages are not used: this test must not depend on them.
func unpackTree(t *testing.T, file, dir string, depth int, found map[string][]byte) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	found[hex.EncodeToString(h[:])] = b
	if depth == 0 {
		return
	}
	out := filepath.Join(dir, fmt.Sprintf("x%d", len(found)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Nothing is ever executed: 7z and innoextract only read the archive.
	// -pinfected: the corpus's encrypted ZIP and 7z builds use the sample-sharing password.
	exec.CommandContext(ctx, "7z", "x", "-y", "-pinfected", "-o"+out, file).Run()
	if bytes.Contains(b[:min(len(b), 1<<20)], []byte("Inno Setup")) {
		exec.CommandContext(ctx, "innoextract", "-s", "-d", out+"-inno", file).Run()
	}
	for _, root := range []string{out, out + "-inno"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				unpackTree(t, p, dir, depth-1, found)
			}
			return nil
		})
	}
}

// TestCorpusGolden: for the first build of each kind, the version info,
// string table, dialogs and signer of its client and content-filter PEs
// against testdata/corpus/<build>.<role>.golden; and for every build, the
// client's Authenticode signer (digest matching, signature verified)
// against the manifest.
func TestCorpusGolden(t *testing.T) {
	dir, m := manifesttest.Load(t)
	if _, err := exec.LookPath("7z"); err != nil {
		t.Skip("7z not installed")
	}
	sort.Slice(m.Builds, func(i, j int) bool { return m.Builds[i].ID < m.Builds[j].ID })
	seenKind := map[string]bool{}
	for _, b := range m.Builds {
		golden := !seenKind[b.Kind]
		seenKind[b.Kind] = true
		found := map[string][]byte{}
		unpackTree(t, filepath.Join(dir, b.File), t.TempDir(), 3, found)
		for _, f := range b.Files {
			if !f.PE || (f.Role != "client" && f.Role != "contentfilter") {
				continue
			}
			data, ok := found[f.SHA256]
			if !ok {
				t.Errorf("%s: %v not found by 7z/innoextract", b.ID, f.Path)
				continue
			}
			s, err := Analyze(context.Background(), data, Options{})
			if err != nil {
				t.Errorf("%s %v: %v", b.ID, f.Path, err)
				continue
			}
			// The manifest's signer is the client's: every build, not only golden ones.
			if f.Role == "client" && b.Signer != "" &&
				(s.Signature == nil || !containsFold(s.Signature.Signer, b.Signer) || !s.Signature.DigestMatches || !s.Signature.SignatureVerified) {
				t.Errorf("%s %v: signature %+v, manifest signer %q", b.ID, f.Path, s.Signature, b.Signer)
			}
			if f.Role == "client" && b.Signer == "" && s.Signature != nil {
				t.Errorf("%s %v: signed by %q, manifest says unsigned", b.ID, f.Path, s.Signature.Signer)
			}
			if !golden {
				continue
			}
			g := corpusGolden{Path: f.Path, Role: f.Role, Version: s.Version, StringTable: s.StringTable, Dialogs: s.Dialogs}
			if s.Signature != nil {
				g.Signer, g.Issuer, g.DigestOK = s.Signature.Signer, s.Signature.Issuer, s.Signature.DigestMatches
			}
			for _, r := range s.Resources {
				g.Resources = append(g.Resources, r.NodeName())
			}
			checkGolden(t, filepath.Join("corpus", b.ID+"."+f.Role+".golden"), mustJSON(t, g))
		}
	}
}

func containsFold(s, sub string) bool {
	return bytes.Contains(bytes.ToLower([]byte(s)), bytes.ToLower([]byte(sub)))
}

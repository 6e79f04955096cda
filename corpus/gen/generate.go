package gen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
)

// Config says where specs, keyword lists and certificates are, and where the
// corpus goes.
type Config struct {
	SpecsDir    string
	KeywordsDir string
	OutDir      string
	CertDir     string
	// CacheDir holds downloads (npm pack 7zip@0.0.6 for the 7z.sfx module).
	CacheDir string
	// Jobs is how many builds run at once (default: twice the CPUs).
	Jobs int
	// Only restricts generation to these ids (all when empty).
	Only []string
	// KeepWork leaves OutDir/work in place for inspection.
	KeepWork bool
}

// Generator builds a corpus. It is safe for its builds to run concurrently.
type Generator struct {
	cfg     Config
	sfxOnce sync.Once
	sfx     []byte
	sfxErr  error
}

// New checks the configuration.
func New(cfg Config) (*Generator, error) {
	// Tools run in scratch folders: every path must be absolute.
	for _, p := range []*string{&cfg.SpecsDir, &cfg.KeywordsDir, &cfg.OutDir, &cfg.CertDir, &cfg.CacheDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, fmt.Errorf("gen: %w", err)
		}
		*p = abs
	}
	for name, dir := range map[string]string{"specs": cfg.SpecsDir, "keywords": cfg.KeywordsDir, "certs": cfg.CertDir} {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("gen: %s folder %q: not a folder (%v)", name, dir, err)
		}
	}
	if cfg.OutDir == "" || cfg.OutDir == "/" {
		return nil, errors.New("gen: no output folder")
	}
	if cfg.CacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		cfg.CacheDir = filepath.Join(base, "tomscan-corpus")
	}
	if cfg.Jobs <= 0 {
		// A build is a chain of short tool runs (process start, file I/O):
		// two per CPU keeps the CPUs busy.
		cfg.Jobs = 2 * runtime.NumCPU()
	}
	return &Generator{cfg: cfg}, nil
}

// Generate builds every selected spec into OutDir/builds and writes
// OutDir/manifest.json. Builds are independent; the first failure stops the
// rest and is returned.
func (g *Generator) Generate(ctx context.Context) (*Manifest, error) {
	specs, err := LoadSpecs(g.cfg.SpecsDir)
	if err != nil {
		return nil, err
	}
	if len(g.cfg.Only) > 0 {
		want := map[string]bool{}
		for _, id := range g.cfg.Only {
			want[id] = true
		}
		var sel []*Spec
		for _, s := range specs {
			if want[s.ID] {
				sel = append(sel, s)
				delete(want, s.ID)
			}
		}
		if len(want) > 0 {
			var missing []string
			for id := range want {
				missing = append(missing, id)
			}
			sort.Strings(missing)
			return nil, fmt.Errorf("gen: no spec for %v", missing)
		}
		specs = sel
	}
	buildsDir := filepath.Join(g.cfg.OutDir, "builds")
	workDir := filepath.Join(g.cfg.OutDir, "work")
	// Both folders are generated output, owned by this program.
	for _, d := range []string{buildsDir, workDir} {
		if err := os.RemoveAll(d); err != nil {
			return nil, fmt.Errorf("gen: clear %s: %w", d, err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("gen: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*buildResult, len(specs))
	errs := make([]error, len(specs))
	sem := make(chan struct{}, g.cfg.Jobs)
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			b := &builder{spec: s, work: filepath.Join(workDir, s.ID), certDir: g.cfg.CertDir, keywords: g.cfg.KeywordsDir, gen: g}
			r, err := b.build(ctx)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			if err := os.WriteFile(filepath.Join(g.cfg.OutDir, r.build.File), r.data, 0o644); err != nil {
				errs[i] = fmt.Errorf("gen: write %s: %w", r.build.File, err)
				cancel()
				return
			}
			results[i] = r
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	m := &Manifest{SchemaVersion: "1", KeywordSource: KeywordSource(g.cfg.KeywordsDir)}
	for _, r := range results {
		m.Builds = append(m.Builds, r.build)
	}
	if len(g.cfg.Only) == 0 {
		// iOS builds (corpus/specs/ios, corpus/gen/ipa.go) and the negative
		// corpus: built when no -only selection is given.
		ipas, err := g.generateIPAs(ctx, buildsDir, workDir)
		if err != nil {
			return nil, err
		}
		m.Builds = append(m.Builds, ipas...)
		if m.Negatives, err = g.Negatives(ctx, filepath.Join(workDir, "negatives")); err != nil {
			return nil, err
		}
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("gen: manifest: %w", err)
	}
	tmp := filepath.Join(g.cfg.OutDir, "manifest.json.tmp")
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("gen: manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(g.cfg.OutDir, "manifest.json")); err != nil {
		return nil, fmt.Errorf("gen: manifest: %w", err)
	}
	if !g.cfg.KeepWork {
		if err := os.RemoveAll(workDir); err != nil {
			return nil, fmt.Errorf("gen: remove %s: %w", workDir, err)
		}
	}
	return m, nil
}

// sfx7zPackage is the npm package that ships the Windows 7z SFX module.
const sfx7zPackage = "7zip@0.0.6"

// sfxModule returns 7z.sfx from npm's 7zip@0.0.6, fetched once with
// `npm pack` into the cache (never installed, never committed).
func (b *builder) sfxModule(ctx context.Context) ([]byte, error) {
	g := b.gen
	g.sfxOnce.Do(func() {
		dir := filepath.Join(g.cfg.CacheDir, "npm", "7zip-0.0.6")
		mod := filepath.Join(dir, "package", "7zip-lite", "7z.sfx")
		if data, err := os.ReadFile(mod); err == nil && isPE(data) {
			g.sfx = data
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			g.sfxErr = fmt.Errorf("7z.sfx: %w", err)
			return
		}
		if _, err := run(ctx, dir, nil, "npm", "pack", sfx7zPackage, "--silent"); err != nil {
			g.sfxErr = fmt.Errorf("7z.sfx: fetch %s: %w", sfx7zPackage, err)
			return
		}
		if _, err := run(ctx, dir, nil, "tar", "-xzf", "7zip-0.0.6.tgz", "package/7zip-lite/7z.sfx"); err != nil {
			g.sfxErr = fmt.Errorf("7z.sfx: unpack: %w", err)
			return
		}
		data, err := os.ReadFile(mod)
		if err != nil || !isPE(data) {
			g.sfxErr = fmt.Errorf("7z.sfx: %s is not a PE (%v)", mod, err)
			return
		}
		g.sfx = data
	})
	return g.sfx, g.sfxErr
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/rules"
)

// sha256Hex is the hex sha256 of b, "" for nil (no such input).
func sha256Hex(b []byte) string {
	if b == nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// passwordsDigest is the sha256 over the password list (text and label, in
// order): it enters the cache key, never a report.
func passwordsDigest(pw []unpack.Password) string {
	b, err := json.Marshal(pw)
	if err != nil {
		return ""
	}
	return sha256Hex(b)
}

// splitReusable sets aside the builds whose archived report was made under
// the key this scan would make it under (one index lookup each): their
// reports are kept byte for byte. A build is scanned again when its key
// differs or is missing, when it was unreadable at discovery, when its
// report is `failed` (a failure may be transient: a worker killed, a
// timeout on a busy machine; and a deterministic one is cheap to redo), or
// when report.json or a page this scan asks for is missing from its folder,
// and, after a run that was killed, when report.json itself was made under
// another key.
func splitReusable(ctx context.Context, out string, index *archive.Index, keyOf func(*pipeline.Build) string, builds []*pipeline.Build, want map[string]bool) (scan, reused []*pipeline.Build, err error) {
	for _, b := range builds {
		ok, err := reusable(ctx, out, index, keyOf, b, want)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			reused = append(reused, b)
		} else {
			scan = append(scan, b)
		}
	}
	return scan, reused, nil
}

func reusable(ctx context.Context, out string, index *archive.Index, keyOf func(*pipeline.Build) string, b *pipeline.Build, want map[string]bool) (bool, error) {
	if b.Err != nil {
		return false, nil
	}
	have, status, err := index.CacheKey(ctx, b.Key)
	if err != nil || have == "" || status == reports.StatusFailed || have != keyOf(b) {
		return false, err
	}
	dir := reports.BuildDir(out, b.Key)
	if !index.Flushed() {
		// The last run was killed: its reports may be newer than their
		// rows (see archive.Index.Flushed). The report's own key decides.
		r, err := reports.ReadFile(filepath.Join(dir, archive.ReportJSON))
		if err != nil || r.Cache == nil || r.Cache.Key != have {
			return false, nil
		}
	}
	files := map[string]string{"json": archive.ReportJSON, "md": archive.ReportMD, "html": archive.ReportHTML}
	for f, name := range files {
		if !want[f] {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false, nil
		}
	}
	return true, nil
}

// archivedRulesInfo describes the rules compiled from srcs without
// compiling them, from an archived report made by this tool version with
// sources of the same digest: ok is false when there is none. Its count of
// rules is what srcs compile to. If it was not (a report edited by hand,
// say), a key made with it matches no archived key made by this tool from
// these sources, so no build is reused by mistake: such builds are looked
// at again with the compiled rules' keys.
func archivedRulesInfo(ctx context.Context, out string, index *archive.Index, tool reports.Tool, srcs []rules.Source) (ri reports.RulesInfo, ok bool, err error) {
	digest := rules.SourcesDigest(srcs)
	key, err := index.BuildWithRules(ctx, digest, tool.Version)
	if err != nil || key == "" {
		return ri, false, err
	}
	archived, err := reports.ReadRules(filepath.Join(reports.BuildDir(out, key), archive.ReportJSON))
	if err != nil || archived.Digest != digest {
		return ri, false, nil // unreadable: the rules are compiled, and the build rescanned
	}
	return pipeline.RulesInfo(srcs, digest, archived.Count), true, nil
}

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
// when report.json or a page this scan asks for is missing from its folder.
func splitReusable(ctx context.Context, out string, index *archive.Index, cfg pipeline.Config, builds []*pipeline.Build, want map[string]bool) (scan, reused []*pipeline.Build, err error) {
	for _, b := range builds {
		ok, err := reusable(ctx, out, index, cfg, b, want)
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

func reusable(ctx context.Context, out string, index *archive.Index, cfg pipeline.Config, b *pipeline.Build, want map[string]bool) (bool, error) {
	if b.Err != nil {
		return false, nil
	}
	have, status, err := index.CacheKey(ctx, b.Key)
	if err != nil || have == "" || status == reports.StatusFailed || have != pipeline.CacheKey(cfg, b) {
		return false, err
	}
	dir := reports.BuildDir(out, b.Key)
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

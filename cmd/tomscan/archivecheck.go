package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tomscan/tomscan/reports/archive"
)

// checkArchive validates an --out folder that must already be an archive
// (report, query, export, diff): it exists, is a folder, and holds the
// builds/ folder a scan writes (and index.sqlite when needIndex). Anything
// else is a usage error in one line that says what to do, before anything
// is written: `report --out` into a folder that is not an archive must not
// fill it with index files.
func checkArchive(cmd, out string, needIndex bool) error {
	st, err := os.Stat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s: --out %s: no such folder; give the archive folder a scan wrote (tomscan scan PATH --out DIR)", cmd, out)
	case err != nil:
		return usagef("%s: --out %s: %v", cmd, out, err)
	case !st.IsDir():
		return usagef("%s: --out %s is a file, not an archive folder", cmd, out)
	}
	if st, err := os.Stat(filepath.Join(out, archive.BuildsDir)); err != nil || !st.IsDir() {
		return usagef("%s: --out %s is not a tomscan archive (no %s/ folder); give the folder a scan wrote (tomscan scan PATH --out DIR)", cmd, out, archive.BuildsDir)
	}
	if needIndex {
		if _, err := os.Stat(filepath.Join(out, archive.IndexDB)); err != nil {
			return usagef("%s: --out %s has no %s; rebuild it with 'tomscan report --out %s'", cmd, out, archive.IndexDB, out)
		}
	}
	return nil
}

// checkReportOut is report's validation of --out (report.go calls it).
func checkReportOut(out string) error {
	if out == "" {
		return usagef("report: --out DIR is required: the archive a scan wrote")
	}
	return checkArchive("report", out, false)
}

package inno

import (
	"fmt"
	"strconv"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/inno/setupdata"
)

// maxNameIssues bounds the unsafe-name issues listed per installer.
const maxNameIssues = 20

// checkSetup turns what our setup-data reader knows into issues that
// innoextract hides:
//   - the loader's TotalSize larger than the file: the installer was cut
//     (innoextract still extracts every file whose chunk ends before the cut,
//     and says nothing when the cut falls in padding);
//   - destinations that would escape the install folder: innoextract
//     resolves "..", so the files it writes look harmless, while the
//     installer would write {app}\..\..\x. The file keeps innoextract's
//     name; the issue names the destination as the installer has it, as
//     the engine does for other formats' unsafe entry names.
func checkSetup(s *setupdata.Setup, size int64, sink unpack.Sink) {
	if s == nil {
		return
	}
	if t := s.Offsets.Total; t > size {
		sink.Issue(artifact.KindTruncated, fmt.Sprintf("inno: the loader's offset table says the installer has %d bytes; the file has %d (%d missing)", t, size, t-size))
	}
	n := 0
	check := func(what, dest string) {
		_, why := unpack.VetName(dest)
		if why == "" {
			return
		}
		n++
		if n <= maxNameIssues {
			sink.Issue(artifact.KindUnsafeName, fmt.Sprintf("inno: %s destination %s: %s (innoextract names it %s)", what, strconv.Quote(dest), why, strconv.Quote(setupdata.ExtractPath(dest))))
		}
	}
	for _, f := range s.Files {
		check("file", f.Destination)
	}
	for _, d := range s.Dirs {
		check("dir", d.Name)
	}
	if n > maxNameIssues {
		sink.Issue(artifact.KindUnsafeName, fmt.Sprintf("inno: %d more unsafe destinations not listed", n-maxNameIssues))
	}
}

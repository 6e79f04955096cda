// Package registry is the one explicit list of extractors, in the order the
// engine tries them. Adding a format means adding a line here; nothing
// registers itself through init().
package registry

import (
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/cab"
	"github.com/tomscan/tomscan/internal/unpack/compress"
	"github.com/tomscan/tomscan/internal/unpack/inno"
	"github.com/tomscan/tomscan/internal/unpack/installshield"
	"github.com/tomscan/tomscan/internal/unpack/isstream"
	"github.com/tomscan/tomscan/internal/unpack/msi"
	"github.com/tomscan/tomscan/internal/unpack/nsis"
	"github.com/tomscan/tomscan/internal/unpack/peimage"
	"github.com/tomscan/tomscan/internal/unpack/sevenzip"
	"github.com/tomscan/tomscan/internal/unpack/tar"
	"github.com/tomscan/tomscan/internal/unpack/toolarc"
	"github.com/tomscan/tomscan/internal/unpack/zip"
)

// All returns every extractor, most specific first.
func All() []unpack.Extractor {
	return []unpack.Extractor{
		msi.Extractor{},
		cab.Extractor{},
		zip.Extractor{},
		sevenzip.Extractor{},
		compress.Extractor{},
		tar.Extractor{},
		toolarc.SevenZip{},
		toolarc.Unar{},
		installshield.Extractor{},
		isstream.Extractor{},
		// PE-based installers own their PE: their adapters look for their
		// own headers and decline silently, so a plain PE falls through to
		// the generic overlay/resource carver, which must stay last.
		nsis.Extractor{},
		inno.Extractor{},
		peimage.Extractor{},
	}
}

// Tools finds the external programs extractors drive, on PATH.
func Tools() unpack.Tools { return unpack.FindTools() }

// Package registry is the one explicit list of extractors, in the order the
// engine tries them. Adding a format means adding a line here; nothing
// registers itself through init().
package registry

import (
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/zip"
)

// All returns every extractor, most specific first.
func All() []unpack.Extractor {
	return []unpack.Extractor{
		zip.Extractor{},
	}
}

// Tools finds the external programs extractors drive, on PATH.
func Tools() unpack.Tools { return unpack.FindTools() }

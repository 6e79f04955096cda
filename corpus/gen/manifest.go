package gen

import "github.com/tomscan/tomscan/corpus/manifest"

// The manifest's types live in corpus/manifest, shared with its readers;
// these names are the generator's.
type (
	Manifest    = manifest.Manifest
	Build       = manifest.Build
	File        = manifest.File
	EndpointGT  = manifest.Endpoint
	KeywordGT   = manifest.KeywordList
	DESKeyGT    = manifest.DESKey
	InstallerGT = manifest.Installer
	TableGT     = manifest.Table
)

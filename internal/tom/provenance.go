package tom

import (
	"math"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
)

// Provenance classes: where an evidence item was read. Executable classes
// can decide a verdict; the others can only support one.
const (
	ProvVersionInfo  = "pe-version-info"     // a PE's VERSIONINFO strings
	ProvSigner       = "signer"              // an Authenticode signer (PE, MSI, CAB)
	ProvResources    = "pe-resources"        // a PE's string tables, dialogs, manifest, other resource leaves
	ProvInstaller    = "installer-script"    // an installer's script or tables (NSIS, Inno Setup, MSI)
	ProvStrings      = "pe-strings"          // a PE's code and data outside its resources
	ProvMachOStrings = "macho-strings"       // a Mach-O's code and data (its sections' strings)
	ProvAppBundle    = "app-bundle"          // what an iOS app declares of itself: Info.plist, its code-signature identifier, its store record (iTunesMetadata)
	ProvDocument     = "document"            // a plain file: text, HTML, PDF, JSON, XML, unknown data
	ProvMemberName   = "archive-member-name" // a name in an archive's directory, or a node's own name
	ProvInputName    = "input-file-name"     // the name of the scanned file
	ProvThirdPartyPE = "third-party-pe"      // any content of a PE whose version info names another maker
)

// Weights of the provenance classes. A verdict's confidence combines the
// weights of the distinct classes behind it (confidence). The numbers
// order the classes by how hard they are to produce by accident: a
// product's version info and its signer name its maker on purpose; UI
// resources and installer tables are the product's own text; loose
// strings may be a mention in code; documents, names and third-party
// programs only talk about a product.
var Weights = map[string]float64{
	ProvVersionInfo:  0.60,
	ProvSigner:       0.50,
	ProvResources:    0.40,
	ProvInstaller:    0.40,
	ProvStrings:      0.30,
	ProvMachOStrings: 0.30,
	ProvAppBundle:    0.50,
	ProvDocument:     0.05,
	ProvMemberName:   0.05,
	ProvThirdPartyPE: 0.05,
	ProvInputName:    0.02,
}

// ProvenanceOrder lists the classes from the heaviest, for documentation
// and reports.
var ProvenanceOrder = []string{ProvVersionInfo, ProvSigner, ProvAppBundle, ProvResources, ProvInstaller, ProvStrings, ProvMachOStrings,
	ProvDocument, ProvMemberName, ProvThirdPartyPE, ProvInputName}

// Decides tells whether evidence of class p can decide a TOM-Skype,
// regular-Skype or joint-venture verdict: only executable content can.
func Decides(p string) bool {
	switch p {
	case ProvVersionInfo, ProvSigner, ProvAppBundle, ProvResources, ProvInstaller, ProvStrings, ProvMachOStrings:
		return true
	}
	return false
}

// plainWords says where a non-deciding class is, for the reason of an
// undetermined verdict.
func plainWords(p string) string {
	switch p {
	case ProvDocument:
		return "a text document (text, HTML, PDF, JSON or other plain file)"
	case ProvMemberName:
		return "archive member names"
	case ProvInputName:
		return "the input file name"
	case ProvThirdPartyPE:
		return "a program by another maker"
	}
	return p
}

// nodeClass is the provenance of text read from a node that is not a PE:
// installer databases are installer tables, archives hold member names (the
// rest of their bytes is compressed data), everything else is a document.
func nodeClass(n *artifact.Node) string {
	if n.Installer != nil {
		return ProvInstaller
	}
	switch n.Type {
	case filetype.MachO: // executable content, like a PE's code and data
		return ProvMachOStrings
	case filetype.OLE: // MSI: its string pool is the installer's tables
		return ProvInstaller
	case filetype.ZIP, filetype.SevenZ, filetype.CAB, filetype.Gzip, filetype.Bzip2, filetype.XZ, filetype.RAR, filetype.ISCab,
		filetype.Tar, filetype.Zstd, filetype.IPA:
		return ProvMemberName
	}
	return ProvDocument
}

// peOffsetClass is the provenance of bytes at off in a PE: inside a
// VERSION resource leaf, inside another resource leaf, or elsewhere.
func peOffsetClass(n *artifact.Node, off int64) string {
	for _, r := range n.PE.Resources {
		if off >= r.Offset && off < r.Offset+r.Size {
			if r.Type == "VERSION" {
				return ProvVersionInfo
			}
			return ProvResources
		}
	}
	return ProvStrings
}

// round2 rounds half away from zero to two decimals, so that 0.6+0.1 is
// written 0.7, never 0.7000000000000001.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// nameMark finds a TOM-Skype name in a file name, glued or not
// ("TOM-SkypeSetup.exe", "tomskype_full.zip"): names are short and often
// run words together.
func nameMark(name string) bool {
	l := strings.ToLower(name)
	for _, m := range []string{"tom-skype", "tomskype", "tom_skype", "tom skype", "tom在线"} {
		if strings.Contains(l, m) {
			return true
		}
	}
	return false
}

// Package pe is tomscan's model of a Portable Executable, built over
// saferwall/pe. No saferwall type leaks out of this package: callers see
// Summary and friends only. The third-party parser is treated as hostile
// input's first victim: it runs under recover(), with our logger, within a
// size cap, and its failures become errors, never panics or stdout noise.
//
// Where saferwall/pe is known to be wrong or noisy we parse the bytes
// ourselves: version info (CJK strings cut, languages merged), exports (it
// prints to stdout on a bad name table), Authenticode (it consults the
// host's trust store), string tables, dialogs and the resource leaf list.
package pe

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/tomscan/tomscan/internal/filetype"

	peparser "github.com/saferwall/pe"
	pelog "github.com/saferwall/pe/log"
)

// ErrNotPE is returned for input that has no MZ/PE header.
var ErrNotPE = errors.New("pe: not a PE file")

// ErrTooLarge is returned for input over Options.MaxBytes.
var ErrTooLarge = errors.New("pe: input exceeds the PE size limit")

// Options tune Analyze.
type Options struct {
	MaxBytes int64 // larger inputs are refused (limits.MaxPEBytes); 0: no cap
	// TrustRoots, when set, is the only store Authenticode chains are
	// checked against. Nil leaves Signature.ChainTrusted nil: the host's
	// store is never consulted, so reports do not depend on the machine.
	TrustRoots *x509.CertPool
}

// Section is one section header plus its measured entropy.
type Section struct {
	Name            string   `json:"name"`
	VirtualAddress  uint32   `json:"virtual_address"`
	VirtualSize     uint32   `json:"virtual_size"`
	RawOffset       uint32   `json:"raw_offset"`
	RawSize         uint32   `json:"raw_size"`
	Entropy         float64  `json:"entropy"`
	Flags           uint32   `json:"flags"` // IMAGE_SCN_* bits, named in Characteristics
	Characteristics []string `json:"characteristics,omitempty"`
}

// Import is one imported DLL with its functions ("#12" for ordinals).
type Import struct {
	DLL       string   `json:"dll"`
	Functions []string `json:"functions"`
}

// Export is one exported function.
type Export struct {
	Ordinal   uint32 `json:"ordinal"`
	Name      string `json:"name,omitempty"`
	RVA       uint32 `json:"rva"`
	Forwarder string `json:"forwarder,omitempty"`
}

// Exports is the export directory.
type Exports struct {
	DLLName       string   `json:"dll_name,omitempty"`
	TimeDateStamp uint32   `json:"time_date_stamp,omitempty"`
	Functions     []Export `json:"functions,omitempty"`
	Truncated     bool     `json:"truncated,omitempty"` // more entries than maxExports
}

// RichEntry is one @comp.id of the Rich header: which tool built how many objects.
type RichEntry struct {
	ProductID uint16 `json:"product_id"`
	Build     uint16 `json:"build"`
	Count     uint32 `json:"count"`
	Product   string `json:"product,omitempty"` // saferwall's name for the product id
}

// RichHeader is the linker's bill of materials between the DOS stub and the PE header.
type RichHeader struct {
	XORKey  uint32      `json:"xor_key"`
	Entries []RichEntry `json:"entries"`
}

// Overlay is data appended after the last section.
type Overlay struct {
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	Type   string `json:"type,omitempty"` // sniffed: "7z", "zip", "cab", "nsis", ...
}

// Summary is everything tomscan reports about one PE.
type Summary struct {
	Machine       string `json:"machine"`    // named after the PE/COFF specification, else the hex value
	MachineID     uint16 `json:"machine_id"` // the raw COFF Machine value
	Bits          int    `json:"bits"`
	TimeDateStamp uint32 `json:"time_date_stamp"`
	Timestamp     string `json:"timestamp,omitempty"` // TimeDateStamp as RFC 3339 UTC; empty for 0
	Subsystem     string `json:"subsystem,omitempty"` // named, else the decimal value
	SubsystemID   uint16 `json:"subsystem_id"`
	// Characteristics and DllCharacteristics are the raw header fields;
	// the *Flags lists spell out their bits (IMAGE_FILE_*, IMAGE_DLLCHARACTERISTICS_*).
	Characteristics         uint16      `json:"characteristics"`
	CharacteristicsFlags    []string    `json:"characteristics_flags,omitempty"`
	DllCharacteristics      uint16      `json:"dll_characteristics"`
	DllCharacteristicsFlags []string    `json:"dll_characteristics_flags,omitempty"`
	EntryPoint              uint32      `json:"entry_point"`
	ImageBase               uint64      `json:"image_base"`
	Checksum                uint32      `json:"checksum"`
	LinkerVersion           string      `json:"linker_version,omitempty"`
	IsDLL                   bool        `json:"is_dll"`
	IsDotNet                bool        `json:"is_dotnet"`
	Sections                []Section   `json:"sections,omitempty"`
	Imports                 []Import    `json:"imports,omitempty"`
	Exports                 *Exports    `json:"exports,omitempty"`
	Imphash                 string      `json:"imphash,omitempty"`
	Rich                    *RichHeader `json:"rich_header,omitempty"`
	// Resources lists every resource leaf in directory order (type, name,
	// language); Offset and Size slice the leaf out of the PE's bytes.
	Resources []Resource `json:"resources,omitempty"`
	// ResourceTimeDateStamp is the resource directory's own timestamp
	// (often set by the resource compiler, sometimes the only date left).
	ResourceTimeDateStamp uint32        `json:"resource_time_date_stamp,omitempty"`
	Version               *VersionInfo  `json:"version_info,omitempty"`
	StringTable           []TableString `json:"string_table,omitempty"`
	Dialogs               []Dialog      `json:"dialogs,omitempty"`
	Manifest              string        `json:"manifest,omitempty"`
	Overlay               *Overlay      `json:"overlay,omitempty"`
	Signature             *Signature    `json:"signature,omitempty"`
	// Truncated is set when the file ends before what its headers declare.
	Truncated *Truncation `json:"truncated,omitempty"`
	Anomalies []string    `json:"anomalies,omitempty"`
}

// Truncation says how much of a PE is missing: the headers, section data,
// data directories or the certificate table lie (partly) past the end.
type Truncation struct {
	Expected int64    `json:"expected_size"` // bytes the headers need, at least
	Actual   int64    `json:"actual_size"`   // bytes the file has
	Parts    []string `json:"parts"`         // what lies past the end, with its extent
}

// Error is the one-line account for the node's issue.
func (t *Truncation) Error() string {
	parts := t.Parts
	more := ""
	if len(parts) > 8 {
		parts, more = parts[:8], fmt.Sprintf("; and %d more", len(parts)-8)
	}
	return fmt.Sprintf("file is %d bytes, its headers need %d: past the end: %s%s", t.Actual, t.Expected, strings.Join(parts, "; "), more)
}

// CheckMZ judges a blob that starts with "MZ" but is no PE by IsPE: a DOS
// header cut short (under 64 bytes), or an e_lfanew that points past the
// end, is a truncated file; a DOS program (e_lfanew inside the file, no PE
// signature there) is not. It returns nil for those and for non-MZ data.
func CheckMZ(b []byte) *Truncation {
	if len(b) < 2 || b[0] != 'M' || b[1] != 'Z' || IsPE(b) {
		return nil
	}
	if len(b) < 0x40 {
		return &Truncation{Expected: 0x40, Actual: int64(len(b)), Parts: []string{fmt.Sprintf("DOS header 0+%d", 0x40)}}
	}
	e := int64(binary.LittleEndian.Uint32(b[0x3c:]))
	if e >= 0x40 && e+4 > int64(len(b)) && e < 1<<28 {
		// A PE header was meant (DOS programs keep e_lfanew 0 or inside).
		return &Truncation{Expected: e + 24, Actual: int64(len(b)), Parts: []string{fmt.Sprintf("PE signature and file header %d+24", e)}}
	}
	return nil
}

// IsPE is the cheap sniff: an MZ header whose e_lfanew points at "PE\0\0".
func IsPE(b []byte) bool { return filetype.IsPE(b) }

// Analyze parses blob and returns its Summary. A panic inside saferwall/pe
// (or our own decoders) is turned into an error naming the stack's top, so
// one bad PE costs one node.
func Analyze(ctx context.Context, blob []byte, opts Options) (sum *Summary, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.MaxBytes > 0 && int64(len(blob)) > opts.MaxBytes {
		return nil, fmt.Errorf("pe: %d bytes, limit %d: %w", len(blob), opts.MaxBytes, ErrTooLarge)
	}
	if !IsPE(blob) {
		return nil, ErrNotPE
	}
	defer func() {
		if r := recover(); r != nil {
			sum = nil
			err = fmt.Errorf("pe: parser panic: %v (%s)", r, firstFrames(debug.Stack()))
		}
	}()
	f, err := peparser.NewBytes(blob, parserOptions())
	if err != nil {
		return nil, fmt.Errorf("pe: open: %w", err)
	}
	defer f.Close()
	if err := f.Parse(); err != nil {
		return nil, fmt.Errorf("pe: parse: %w", err)
	}
	if !saferwallEntropy {
		if !alignmentsQuiet(f) {
			// Saferwall notes an alignment anomaly at each section it
			// reads, its entropy pass among them: parsed again with that
			// pass, the anomalies stand where and as often as they did.
			g, err := peparser.NewBytes(blob, parserOptionsWith(true))
			if err != nil {
				return nil, fmt.Errorf("pe: open: %w", err)
			}
			defer g.Close()
			if err := g.Parse(); err != nil {
				return nil, fmt.Errorf("pe: parse: %w", err)
			}
			f = g
		} else {
			setSectionEntropy(f)
		}
	}
	restoreCOFFAnomaly(f)
	return summarize(ctx, f, blob, opts)
}

// saferwallEntropy makes saferwall compute the sections' entropy itself, as
// tomscan did before setSectionEntropy; a test compares the two.
var saferwallEntropy = false

// setSectionEntropy gives each section the entropy saferwall's own pass
// (Section.CalculateEntropy, switched off in parserOptions) would have: the
// same bytes (Section.Data), the same byte counts, the same sum in the same
// order, so the same float64. Its byte count was one loop of
// read-increment-write, which stalls on runs of one byte (a PE's zero
// padding): about 1.3 GB/s here, 2% of the CPU of a scan of the 1 GB ZIP
// of PEs (bench-e2e), in the walk, which analyses PEs one at a time. Four
// counts side by side run at 2.6-3.5 GB/s (BenchmarkEntropy).
func setSectionEntropy(f *peparser.File) {
	for i := range f.Sections {
		e := entropy(f.Sections[i].Data(0, 0, f))
		f.Sections[i].Entropy = &e
	}
}

// entropy is the Shannon entropy of data in bits per byte, computed as
// saferwall's Section.CalculateEntropy does (0 for no bytes).
func entropy(data []byte) float64 {
	if len(data) == 0 {
		return 0
	}
	var part [4][256]uint32 // a section is at most 4 GiB: SizeOfRawData is 32 bits
	i := 0
	for ; i+4 <= len(data); i += 4 {
		part[0][data[i]]++
		part[1][data[i+1]]++
		part[2][data[i+2]]++
		part[3][data[i+3]]++
	}
	for ; i < len(data); i++ {
		part[0][data[i]]++
	}
	size := float64(len(data))
	var sum float64
	for b := range 256 {
		if n := uint64(part[0][b]) + uint64(part[1][b]) + uint64(part[2][b]) + uint64(part[3][b]); n > 0 {
			freq := float64(n) / size
			sum += freq * math.Log2(freq)
		}
	}
	return -sum
}

// alignmentsQuiet tells whether saferwall reads f's sections without noting
// an anomaly each time: its adjustFileAlignment notes a file alignment
// above 0x200 that is odd, its adjustSectionAlignment one below 0x200 that
// differs from the section alignment (saferwall v1.6.5, helper.go).
// An optional header of an unexpected type (saferwall asserts the one
// Is64 names) is not quiet either: saferwall's own pass then does as it did.
func alignmentsQuiet(f *peparser.File) bool {
	var file, section uint32
	switch oh := f.NtHeader.OptionalHeader.(type) {
	case peparser.ImageOptionalHeader64:
		if !f.Is64 {
			return false
		}
		file, section = oh.FileAlignment, oh.SectionAlignment
	case peparser.ImageOptionalHeader32:
		if f.Is64 {
			return false
		}
		file, section = oh.FileAlignment, oh.SectionAlignment
	default:
		return false
	}
	const hardcoded = peparser.FileAlignmentHardcodedValue
	return !(file > hardcoded && file%2 != 0) && !(file < hardcoded && file != section)
}

// skipCOFFSymbols is the COFF symbol count past which saferwall does not
// read the symbol table (parserOptions). Nothing tomscan reports comes from
// it, and for the MinGW DLLs that keep one it was half of the parse (tens
// of thousands of 18-byte records, each read through encoding/binary, and a
// map of every name in the string table). A test sets it to 0 (saferwall's
// default limit) for the reference parse.
var skipCOFFSymbols uint32 = 1

// restoreCOFFAnomaly makes f's anomalies those of a parse with saferwall's
// default symbol limit: refused at skipCOFFSymbols, the table adds
// AnoCOFFSymbolsCount, which saferwall adds only past its own default.
func restoreCOFFAnomaly(f *peparser.File) {
	n := f.NtHeader.FileHeader.NumberOfSymbols
	if skipCOFFSymbols == 0 || f.NtHeader.FileHeader.PointerToSymbolTable == 0 || n <= skipCOFFSymbols || n > peparser.MaxDefaultCOFFSymbolsCount {
		return
	}
	if i := slices.Index(f.Anomalies, peparser.AnoCOFFSymbolsCount); i >= 0 {
		f.Anomalies = slices.Delete(f.Anomalies, i, i+1)
	}
}

// parserOptions switches off every saferwall feature we either do not report
// or parse ourselves. Two of them matter for safety, not speed: its export
// parser and its load-config parser print to stdout (fmt.Printf), and its
// security-directory parser validates against the host's trust store.
// Its logger is ours and discards everything; saferwall never calls Fatal
// on the File's helper (checked for v1.6.5), and the filter drops even
// fatal-level records, so nothing reaches os.Exit or stdout.
func parserOptions() *peparser.Options { return parserOptionsWith(saferwallEntropy) }

// parserOptionsWith is parserOptions with saferwall's section entropy pass
// on or off (setSectionEntropy stands in for it).
func parserOptionsWith(sectionEntropy bool) *peparser.Options {
	return &peparser.Options{
		SectionEntropy:             sectionEntropy,
		MaxCOFFSymbolsCount:        skipCOFFSymbols,
		DisableCertValidation:      true,
		DisableSignatureValidation: true,
		Logger:                     pelog.NewFilter(pelog.NewStdLogger(discard{}), pelog.FilterFunc(func(pelog.Level, ...interface{}) bool { return true })),
		OmitExportDirectory:        true,
		OmitLoadConfigDirectory:    true,
		OmitSecurityDirectory:      true,
		OmitRelocDirectory:         true,
		OmitExceptionDirectory:     true,
		OmitDebugDirectory:         true,
		OmitTLSDirectory:           true,
		OmitGlobalPtrDirectory:     true,
		OmitArchitectureDirectory:  true,
		OmitBoundImportDirectory:   true,
		OmitIATDirectory:           true,
		OmitDelayImportDirectory:   true,
		OmitCLRMetadata:            true,
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func firstFrames(stack []byte) string {
	const max = 600
	if len(stack) > max {
		stack = stack[:max]
	}
	return string(stack)
}

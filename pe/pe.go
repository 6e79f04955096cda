// Package pe is tomscan's model of a Portable Executable, built over
// saferwall/pe. No saferwall type leaks out of this package: callers see
// Summary and friends only. The third-party parser is treated as hostile
// input's first victim: it runs under recover(), with our logger, within a
// size cap, and its failures become errors, never panics or stdout noise.
package pe

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	peparser "github.com/saferwall/pe"
	pelog "github.com/saferwall/pe/log"
)

// ErrNotPE is returned for input that has no MZ/PE header.
var ErrNotPE = errors.New("pe: not a PE file")

// Options tune Analyze.
type Options struct {
	MaxBytes int64 // larger inputs are refused (limits.MaxPEBytes)
}

// Section is one section header plus its measured entropy.
type Section struct {
	Name            string   `json:"name"`
	VirtualAddress  uint32   `json:"virtual_address"`
	VirtualSize     uint32   `json:"virtual_size"`
	RawOffset       uint32   `json:"raw_offset"`
	RawSize         uint32   `json:"raw_size"`
	Entropy         float64  `json:"entropy"`
	Characteristics []string `json:"characteristics,omitempty"`
}

// Import is one imported DLL with its functions ("#12" for ordinals).
type Import struct {
	DLL       string   `json:"dll"`
	Functions []string `json:"functions"`
}

// Overlay is data appended after the last section.
type Overlay struct {
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	Type   string `json:"type,omitempty"`
}

// Summary is everything tomscan reports about one PE.
type Summary struct {
	Machine       string    `json:"machine"`
	Bits          int       `json:"bits"`
	TimeDateStamp uint32    `json:"time_date_stamp"`
	Subsystem     string    `json:"subsystem,omitempty"`
	EntryPoint    uint32    `json:"entry_point"`
	IsDLL         bool      `json:"is_dll"`
	IsDotNet      bool      `json:"is_dotnet"`
	Sections      []Section `json:"sections,omitempty"`
	Imports       []Import  `json:"imports,omitempty"`
	Imphash       string    `json:"imphash,omitempty"`
	Overlay       *Overlay  `json:"overlay,omitempty"`
	Anomalies     []string  `json:"anomalies,omitempty"`
}

// IsPE is the cheap sniff: an MZ header whose e_lfanew points at "PE\0\0".
func IsPE(b []byte) bool {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return false
	}
	off := int(uint32(b[0x3c]) | uint32(b[0x3d])<<8 | uint32(b[0x3e])<<16 | uint32(b[0x3f])<<24)
	if off < 0 || off+4 > len(b) {
		return false
	}
	return b[off] == 'P' && b[off+1] == 'E' && b[off+2] == 0 && b[off+3] == 0
}

// Analyze parses blob and returns its Summary. A panic inside saferwall/pe is
// turned into an error naming the stack's top, so one bad PE costs one node.
func Analyze(ctx context.Context, blob []byte, opts Options) (sum *Summary, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.MaxBytes > 0 && int64(len(blob)) > opts.MaxBytes {
		return nil, fmt.Errorf("pe: %d bytes exceeds the PE size limit %d", len(blob), opts.MaxBytes)
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
	f, err := peparser.NewBytes(blob, &peparser.Options{
		SectionEntropy:             true,
		DisableCertValidation:      true,
		DisableSignatureValidation: true,
		Logger:                     pelog.NewFilter(pelog.NewStdLogger(discard{}), pelog.FilterLevel(pelog.LevelFatal)),
	})
	if err != nil {
		return nil, fmt.Errorf("pe: open: %w", err)
	}
	defer f.Close()
	if err := f.Parse(); err != nil {
		return nil, fmt.Errorf("pe: parse: %w", err)
	}
	return summarize(f, int64(len(blob))), nil
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

package pe

import (
	"fmt"
	"math"

	peparser "github.com/saferwall/pe"
)

// summarize copies what we report out of saferwall's types into ours.
func summarize(f *peparser.File, size int64) *Summary {
	s := &Summary{
		Machine:       f.NtHeader.FileHeader.Machine.String(),
		TimeDateStamp: f.NtHeader.FileHeader.TimeDateStamp,
		IsDLL:         f.IsDLL(),
		IsDotNet:      f.FileInfo.HasCLR,
		Anomalies:     append([]string(nil), f.Anomalies...),
	}
	switch oh := f.NtHeader.OptionalHeader.(type) {
	case peparser.ImageOptionalHeader32:
		s.Bits = 32
		s.EntryPoint = oh.AddressOfEntryPoint
		s.Subsystem = oh.Subsystem.String()
	case peparser.ImageOptionalHeader64:
		s.Bits = 64
		s.EntryPoint = oh.AddressOfEntryPoint
		s.Subsystem = oh.Subsystem.String()
	}
	for i := range f.Sections {
		sec := &f.Sections[i]
		out := Section{
			Name:            sec.String(),
			VirtualAddress:  sec.Header.VirtualAddress,
			VirtualSize:     sec.Header.VirtualSize,
			RawOffset:       sec.Header.PointerToRawData,
			RawSize:         sec.Header.SizeOfRawData,
			Characteristics: sec.PrettySectionFlags(),
		}
		if sec.Entropy != nil && !math.IsNaN(*sec.Entropy) {
			out.Entropy = math.Round(*sec.Entropy*10000) / 10000
		}
		s.Sections = append(s.Sections, out)
	}
	for _, imp := range f.Imports {
		out := Import{DLL: imp.Name}
		for _, fn := range imp.Functions {
			if fn.ByOrdinal {
				out.Functions = append(out.Functions, fmt.Sprintf("#%d", fn.Ordinal))
			} else {
				out.Functions = append(out.Functions, fn.Name)
			}
		}
		s.Imports = append(s.Imports, out)
	}
	if h, err := f.ImpHash(); err == nil {
		s.Imphash = h
	}
	if f.OverlayOffset > 0 && f.OverlayOffset < size {
		s.Overlay = &Overlay{Offset: f.OverlayOffset, Size: size - f.OverlayOffset}
	}
	return s
}

package pe

import "fmt"

// Names for the COFF file header and optional header fields, after the
// current PE/COFF specification (learn.microsoft.com/windows/win32/debug/pe-format,
// "Machine Types", "Characteristics", "Windows Subsystem", "DLL
// Characteristics"). The descriptive machine and subsystem names are
// saferwall's where it has one, so reports keep their wording; values it
// lacks or misnames (subsystem 12, LoongArch, ARM64EC) are ours. A value
// the specification does not list is shown as its number.

var machineNames = map[uint16]string{
	0x0000: "Unknown",
	0x0184: "Alpha AXP 32-bit",
	0x0284: "Alpha 64 (AXP 64-bit)",
	0x01d3: "Matsushita AM33",
	0x8664: "x64",
	0x01c0: "ARM little endian",
	0xaa64: "ARM64 little endian",
	0xa641: "ARM64EC (ARM64 and x64 interoperable)",
	0xa64e: "ARM64X (ARM64 and ARM64EC)",
	0x01c4: "ARM Thumb-2 little endian",
	0x0ebc: "EFI byte code",
	0x014c: "Intel 386 or later / compatible processors",
	0x0200: "Intel Itanium processor family",
	0x6232: "LoongArch 32-bit",
	0x6264: "LoongArch 64-bit",
	0x9041: "Mitsubishi M32R little endian",
	0x0266: "MIPS16",
	0x0366: "MIPS with FPU",
	0x0466: "MIPS16 with FPU",
	0x01f0: "Power PC little endian",
	0x01f1: "Power PC with floating point support",
	0x0160: "MIPS I big endian (R3000)",
	0x0162: "MIPS I little endian (R3000)",
	0x0166: "MIPS little endian",
	0x0168: "MIPS little endian (R10000)",
	0x5032: "RISC-V 32-bit address space",
	0x5064: "RISC-V 64-bit address space",
	0x5128: "RISC-V 128-bit address space",
	0x01a2: "Hitachi SH3",
	0x01a3: "Hitachi SH3 DSP",
	0x01a6: "Hitachi SH4",
	0x01a8: "Hitachi SH5",
	0x01c2: "Thumb",
	0x0169: "MIPS little-endian WCE v2",
}

// MachineName names a COFF Machine value, or gives it in hex.
func MachineName(m uint16) string {
	if n, ok := machineNames[m]; ok {
		return n
	}
	return fmt.Sprintf("0x%04x", m)
}

var subsystemNames = map[uint16]string{
	0:  "Unknown",
	1:  "Native",
	2:  "Windows GUI",
	3:  "Windows CUI",
	5:  "OS/2 character",
	7:  "POSIX character",
	8:  "Native Win9x driver",
	9:  "Windows CE GUI",
	10: "EFI Application",
	11: "EFI Boot Service Driver",
	12: "EFI Runtime Driver",
	13: "EFI ROM image",
	14: "XBOX",
	16: "Windows boot application",
}

// SubsystemName names an optional header Subsystem value, or gives its number.
func SubsystemName(s uint16) string {
	if n, ok := subsystemNames[s]; ok {
		return n
	}
	return fmt.Sprintf("%d", s)
}

type flagName struct {
	bit  uint16
	name string
}

// fileFlagNames are the IMAGE_FILE_* Characteristics bits, in bit order.
var fileFlagNames = []flagName{
	{0x0001, "RELOCS_STRIPPED"}, {0x0002, "EXECUTABLE_IMAGE"}, {0x0004, "LINE_NUMS_STRIPPED"},
	{0x0008, "LOCAL_SYMS_STRIPPED"}, {0x0010, "AGGRESSIVE_WS_TRIM"}, {0x0020, "LARGE_ADDRESS_AWARE"},
	{0x0040, "RESERVED_0040"}, {0x0080, "BYTES_REVERSED_LO"}, {0x0100, "32BIT_MACHINE"},
	{0x0200, "DEBUG_STRIPPED"}, {0x0400, "REMOVABLE_RUN_FROM_SWAP"}, {0x0800, "NET_RUN_FROM_SWAP"},
	{0x1000, "SYSTEM"}, {0x2000, "DLL"}, {0x4000, "UP_SYSTEM_ONLY"}, {0x8000, "BYTES_REVERSED_HI"},
}

// dllFlagNames are the IMAGE_DLLCHARACTERISTICS_* bits, in bit order; bits
// 0-3 are reserved and named by their value when set.
var dllFlagNames = []flagName{
	{0x0001, "RESERVED_0001"}, {0x0002, "RESERVED_0002"}, {0x0004, "RESERVED_0004"}, {0x0008, "RESERVED_0008"},
	{0x0010, "RESERVED_0010"}, {0x0020, "HIGH_ENTROPY_VA"}, {0x0040, "DYNAMIC_BASE"},
	{0x0080, "FORCE_INTEGRITY"}, {0x0100, "NX_COMPAT"}, {0x0200, "NO_ISOLATION"},
	{0x0400, "NO_SEH"}, {0x0800, "NO_BIND"}, {0x1000, "APPCONTAINER"}, {0x2000, "WDM_DRIVER"},
	{0x4000, "GUARD_CF"}, {0x8000, "TERMINAL_SERVER_AWARE"},
}

func flags(v uint16, names []flagName) []string {
	var out []string
	for _, f := range names {
		if v&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

// FileFlags spells out a COFF Characteristics value.
func FileFlags(v uint16) []string { return flags(v, fileFlagNames) }

// DLLFlags spells out an optional header DllCharacteristics value.
func DLLFlags(v uint16) []string { return flags(v, dllFlagNames) }

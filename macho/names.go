package macho

import "fmt"

// Load command numbers (mach-o/loader.h).
const (
	lcReqDyld            = 0x80000000
	lcSegment            = 0x1
	lcSymtab             = 0x2
	lcUnixThread         = 0x5
	lcDysymtab           = 0xb
	lcLoadDylib          = 0xc
	lcIDDylib            = 0xd
	lcLoadDylinker       = 0xe
	lcIDDylinker         = 0xf
	lcLoadWeakDylib      = 0x18 | lcReqDyld
	lcSegment64          = 0x19
	lcUUID               = 0x1b
	lcRpath              = 0x1c | lcReqDyld
	lcCodeSignature      = 0x1d
	lcReexportDylib      = 0x1f | lcReqDyld
	lcLazyLoadDylib      = 0x20
	lcEncryptionInfo     = 0x21
	lcLoadUpwardDylib    = 0x23 | lcReqDyld
	lcVersionMinMacOSX   = 0x24
	lcVersionMinIPhoneOS = 0x25
	lcVersionMinTVOS     = 0x2f
	lcVersionMinWatchOS  = 0x30
	lcEncryptionInfo64   = 0x2c
	lcBuildVersion       = 0x32
)

// cmdNames are llvm-objdump's names, so the cross-check compares strings.
var cmdNames = map[uint32]string{
	0x1: "LC_SEGMENT", 0x2: "LC_SYMTAB", 0x3: "LC_SYMSEG", 0x4: "LC_THREAD", 0x5: "LC_UNIXTHREAD",
	0x6: "LC_LOADFVMLIB", 0x7: "LC_IDFVMLIB", 0x8: "LC_IDENT", 0x9: "LC_FVMFILE", 0xa: "LC_PREPAGE",
	0xb: "LC_DYSYMTAB", 0xc: "LC_LOAD_DYLIB", 0xd: "LC_ID_DYLIB", 0xe: "LC_LOAD_DYLINKER",
	0xf: "LC_ID_DYLINKER", 0x10: "LC_PREBOUND_DYLIB", 0x11: "LC_ROUTINES", 0x12: "LC_SUB_FRAMEWORK",
	0x13: "LC_SUB_UMBRELLA", 0x14: "LC_SUB_CLIENT", 0x15: "LC_SUB_LIBRARY", 0x16: "LC_TWOLEVEL_HINTS",
	0x17: "LC_PREBIND_CKSUM", 0x18 | lcReqDyld: "LC_LOAD_WEAK_DYLIB", 0x19: "LC_SEGMENT_64",
	0x1a: "LC_ROUTINES_64", 0x1b: "LC_UUID", 0x1c | lcReqDyld: "LC_RPATH", 0x1d: "LC_CODE_SIGNATURE",
	0x1e: "LC_SEGMENT_SPLIT_INFO", 0x1f | lcReqDyld: "LC_REEXPORT_DYLIB", 0x20: "LC_LAZY_LOAD_DYLIB",
	0x21: "LC_ENCRYPTION_INFO", 0x22: "LC_DYLD_INFO", 0x22 | lcReqDyld: "LC_DYLD_INFO_ONLY",
	0x23 | lcReqDyld: "LC_LOAD_UPWARD_DYLIB", 0x24: "LC_VERSION_MIN_MACOSX", 0x25: "LC_VERSION_MIN_IPHONEOS",
	0x26: "LC_FUNCTION_STARTS", 0x27: "LC_DYLD_ENVIRONMENT", 0x28 | lcReqDyld: "LC_MAIN",
	0x29: "LC_DATA_IN_CODE", 0x2a: "LC_SOURCE_VERSION", 0x2b: "LC_DYLIB_CODE_SIGN_DRS",
	0x2c: "LC_ENCRYPTION_INFO_64", 0x2d: "LC_LINKER_OPTION", 0x2e: "LC_LINKER_OPTIMIZATION_HINT",
	0x2f: "LC_VERSION_MIN_TVOS", 0x30: "LC_VERSION_MIN_WATCHOS", 0x31: "LC_NOTE", 0x32: "LC_BUILD_VERSION",
	0x33 | lcReqDyld: "LC_DYLD_EXPORTS_TRIE", 0x34 | lcReqDyld: "LC_DYLD_CHAINED_FIXUPS",
	0x35 | lcReqDyld: "LC_FILESET_ENTRY", 0x36: "LC_ATOM_INFO",
}

func cmdName(c uint32) string {
	if n, ok := cmdNames[c]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", c)
}

var dylibKinds = map[uint32]string{
	lcLoadDylib: "load", lcLoadWeakDylib: "weak", lcReexportDylib: "reexport",
	lcLazyLoadDylib: "lazy", lcLoadUpwardDylib: "upward", lcIDDylib: "id",
}

var cpuNames = map[uint32]string{
	7: "i386", 7 | 0x01000000: "x86_64", 12: "arm", 12 | 0x01000000: "arm64", 12 | 0x02000000: "arm64_32",
	18: "ppc", 18 | 0x01000000: "ppc64", 6: "mc680x0", 10: "mc98000", 11: "hppa", 13: "mc88000", 14: "sparc", 15: "i860",
}

func cpuName(c uint32) string {
	if n, ok := cpuNames[c]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", c)
}

var fileTypes = map[uint32]string{
	1: "object", 2: "execute", 3: "fvmlib", 4: "core", 5: "preload", 6: "dylib", 7: "dylinker",
	8: "bundle", 9: "dylib_stub", 10: "dsym", 11: "kext_bundle", 12: "fileset",
}

func fileTypeName(t uint32) string {
	if n, ok := fileTypes[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", t)
}

var platforms = map[uint32]string{
	1: "macos", 2: "ios", 3: "tvos", 4: "watchos", 5: "bridgeos", 6: "maccatalyst",
	7: "iossimulator", 8: "tvossimulator", 9: "watchossimulator", 10: "driverkit",
	11: "visionos", 12: "visionossimulator",
}

func platformName(p uint32) string {
	if n, ok := platforms[p]; ok {
		return n
	}
	return fmt.Sprintf("%d", p)
}

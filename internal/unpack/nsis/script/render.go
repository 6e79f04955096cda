package script

import (
	"fmt"
	"strconv"
	"strings"
)

// Opcodes of NSIS 3.x's default build (no NSIS_CONFIG_LOG), as in its
// exehead/fileform.h; NSIS 2 default builds number these the same.
const (
	opRet            = 1
	opNop            = 2
	opAbort          = 3
	opQuit           = 4
	opCall           = 5
	opUpdateText     = 6
	opSleep          = 7
	opSetFileAttrs   = 10
	opCreateDir      = 11
	opIfFileExists   = 12
	opRename         = 16
	opExtractFile    = 20
	opDeleteFile     = 21
	opMessageBox     = 22
	opRMDir          = 23
	opStrCmp         = 26
	opPushPop        = 31
	opShellExec      = 40
	opExecute        = 41
	opRegisterDLL    = 44
	opCreateShortcut = 45
	opCopyFiles      = 46
	opWriteINI       = 48
	opDelReg         = 50
	opWriteReg       = 51
	opWriteUninst    = 62
)

func q(s string) string { return strconv.Quote(s) }

func (d *decoder) render() (*Result, error) {
	res := &Result{Unicode: d.unicode}
	// Section starts, from the sections block: name_ptr, install_types,
	// flags, code, code_size, size_kb, name[].
	starts := map[int]string{}
	sec := d.blocks[nbSections]
	if sec.num > 0 && sec.num <= MaxEntries {
		per := (d.blocks[nbEntries].off - sec.off) / sec.num
		if per >= 24 {
			for i := int64(0); i < sec.num; i++ {
				b := d.h[sec.off+i*per:]
				code := int(int32(le(b[12:])))
				if code >= 0 && code < d.nEntries {
					starts[code] = fmt.Sprintf("Section %s ; #%d", q(d.str(int32(le(b)))), i)
				}
			}
		}
	}
	calls := map[int]bool{}
	for i := 0; i < d.nEntries; i++ {
		if op, p := d.entry(i); op == opCall && p[0] > 0 && int(p[0]-1) < d.nEntries {
			calls[int(p[0]-1)] = true
		}
	}
	var sb strings.Builder
	strs := "Unicode strings"
	if !d.unicode {
		strs = fmt.Sprintf("ANSI strings read in code page %d, from the first language's LANGID", d.codepage)
	}
	fmt.Fprintf(&sb, "; decoded by tomscan from the installer's header (%d entries, %s)\n", d.nEntries, strs)
	outDir := "$INSTDIR"
	truncated := false
	for i := 0; i < d.nEntries; i++ {
		if i%4096 == 0 {
			if err := d.ctx.Err(); err != nil {
				return nil, err
			}
		}
		if sb.Len() > maxScript && !truncated {
			// The tables go on; the text stops.
			sb.WriteString("; ... script truncated\n")
			truncated = true
		}
		if s, ok := starts[i]; ok && !truncated {
			sb.WriteString("\n" + s + "\n")
		}
		if calls[i] && !truncated {
			fmt.Fprintf(&sb, "\nFunction_%d:\n", i)
		}
		op, p := d.entry(i)
		s := d.str
		var line string
		switch op {
		case opRet:
			line = "Return"
		case opNop:
			if p[0] == 0 {
				line = "Nop"
			} else {
				line = "Goto " + d.addr(p[0])
			}
		case opAbort:
			line = "Abort " + q(s(p[0]))
		case opQuit:
			line = "Quit"
		case opCall:
			line = "Call " + d.addr(p[0])
		case opUpdateText:
			line = "DetailPrint " + q(s(p[0]))
		case opSleep:
			line = "Sleep " + s(p[0])
		case opSetFileAttrs:
			line = fmt.Sprintf("SetFileAttributes %s %#x", q(s(p[0])), p[1])
		case opCreateDir:
			dir := s(p[0])
			if p[1] != 0 {
				outDir = dir
				line = "SetOutPath " + q(dir)
			} else {
				line = "CreateDirectory " + q(dir)
			}
		case opIfFileExists:
			line = fmt.Sprintf("IfFileExists %s %s %s", q(s(p[0])), d.addr(p[1]), d.addr(p[2]))
		case opRename:
			line = fmt.Sprintf("Rename %s %s", q(s(p[0])), q(s(p[1])))
		case opExtractFile:
			name := s(p[1])
			path := name
			if !strings.Contains(name, `:\`) && !strings.HasPrefix(name, "$") && !strings.HasPrefix(name, `\\`) {
				path = strings.TrimSuffix(outDir, `\`) + `\` + name
			}
			res.Files = addRow(res.Files, []string{name, outDir, path, strconv.Itoa(int(p[2]))})
			line = fmt.Sprintf("File %s ; -> %s (data offset %d, overwrite %d)", q(name), q(path), p[2], p[0]&7)
		case opDeleteFile:
			line = fmt.Sprintf("Delete %s ; flags %d", q(s(p[0])), p[1])
		case opMessageBox:
			line = fmt.Sprintf("MessageBox %#x %s", p[0], q(s(p[1])))
		case opRMDir:
			line = fmt.Sprintf("RMDir %s ; flags %d", q(s(p[0])), p[1])
		case opStrCmp:
			line = fmt.Sprintf("StrCmp %s %s %s %s", q(s(p[0])), q(s(p[1])), d.addr(p[2]), d.addr(p[3]))
		case opPushPop:
			switch {
			case p[2] != 0:
				line = fmt.Sprintf("Exch %d", p[2])
			case p[1] != 0:
				line = "Pop " + varName(int(p[0]))
			default:
				line = "Push " + q(s(p[0]))
			}
		case opShellExec:
			verb, file, params := s(p[0]), s(p[1]), s(p[2])
			cmd := file
			if params != "" {
				cmd += " " + params
			}
			res.Exec = addRow(res.Exec, []string{cmd, "ExecShell " + verb})
			line = fmt.Sprintf("ExecShell %s %s %s ; show %d", q(verb), q(file), q(params), p[3])
		case opExecute:
			cmd, kind := s(p[0]), "Exec"
			if p[2] != 0 {
				kind = "ExecWait"
			}
			res.Exec = addRow(res.Exec, []string{cmd, kind})
			line = kind + " " + q(cmd)
		case opRegisterDLL:
			if p[1] != 0 {
				line = fmt.Sprintf("RegDLL %s %s", q(s(p[0])), q(s(p[1])))
			} else {
				line = fmt.Sprintf("RegDLL %s", q(s(p[0])))
			}
		case opCreateShortcut:
			link, target, params, icon := s(p[0]), s(p[1]), s(p[2]), s(p[3])
			res.Shortcuts = addRow(res.Shortcuts, []string{link, target, params, icon})
			line = fmt.Sprintf("CreateShortcut %s %s %s %s", q(link), q(target), q(params), q(icon))
		case opCopyFiles:
			line = fmt.Sprintf("CopyFiles %s %s", q(s(p[0])), q(s(p[1])))
		case opWriteINI:
			line = fmt.Sprintf("WriteINIStr %s %s %s %s", q(s(p[3])), q(s(p[0])), q(s(p[1])), q(s(p[2])))
		case opDelReg:
			root, key := rootName(p[1]), s(p[2])
			if p[4] != 0 && p[4] != 3 || p[3] == 0 {
				res.Registry = addRow(res.Registry, []string{"DeleteRegKey", root, key, "", ""})
				line = fmt.Sprintf("DeleteRegKey %s %s", root, q(key))
			} else {
				name := s(p[3])
				res.Registry = addRow(res.Registry, []string{"DeleteRegValue", root, key, name, ""})
				line = fmt.Sprintf("DeleteRegValue %s %s %s", root, q(key), q(name))
			}
		case opWriteReg:
			root, key, name := rootName(p[0]), s(p[1]), s(p[2])
			var cmd, val string
			switch {
			// p[4]: 1 string, 2 or 4 DWORD, 3 binary; p[5]: the REG_* type.
			case p[4] == 1 && p[5] == 2:
				cmd, val = "WriteRegExpandStr", s(p[3])
			case p[4] == 1:
				cmd, val = "WriteRegStr", s(p[3])
			case p[4] == 2 || p[4] == 4 && p[5] == 4:
				cmd, val = "WriteRegDWORD", s(p[3])
			case p[4] == 3:
				cmd, val = "WriteRegBin", fmt.Sprintf("<binary at data offset %d>", p[3])
			default:
				cmd, val = fmt.Sprintf("WriteReg(type %d/%d)", p[4], p[5]), s(p[3])
			}
			res.Registry = addRow(res.Registry, []string{cmd, root, key, name, val})
			line = fmt.Sprintf("%s %s %s %s %s", cmd, root, q(key), q(name), q(val))
		case opWriteUninst:
			name := s(p[0])
			path := name
			if !strings.Contains(name, `\`) {
				path = `$INSTDIR\` + name // as NSIS does for a bare name
			}
			res.Uninstallers = addRow(res.Uninstallers, []string{path})
			line = "WriteUninstaller " + q(name)
		default:
			line = fmt.Sprintf("; opcode %d (%d, %d, %d, %d, %d, %d)", op, p[0], p[1], p[2], p[3], p[4], p[5])
		}
		if !truncated {
			fmt.Fprintf(&sb, "  /*%d*/ %s\n", i, line)
		}
	}
	res.Script = strings.ToValidUTF8(sb.String(), "\uFFFD")
	return res, nil
}

// addr renders a jump target (entry index + 1; 0 = next; negative = a variable).
func (d *decoder) addr(v int32) string {
	switch {
	case v == 0:
		return "+1"
	case v < 0:
		return varName(int(-(int64(v) + 1)))
	}
	return fmt.Sprintf("/*%d*/", v-1)
}

func le(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24 }

// ListedName is a decoded file path as 7-Zip lists it: relative to
// $INSTDIR, with forward slashes.
func ListedName(path string) string {
	path = strings.ReplaceAll(path, `\`, "/")
	return strings.TrimPrefix(path, "$INSTDIR/")
}

// addRow appends a table row, up to maxRows.
func addRow(t [][]string, row []string) [][]string {
	if len(t) >= maxRows {
		return t
	}
	return append(t, row)
}

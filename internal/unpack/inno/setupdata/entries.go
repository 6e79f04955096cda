package setupdata

import (
	"encoding/hex"
	"fmt"
)

// The field order and version conditions below follow innoextract's
// src/setup/*.cpp, restricted to data versions 5.1.0 to 6.0.x.

type entryCounts struct {
	languages, messages, permissions, types, components, tasks, dirs, files, data,
	icons, ini, registry, deletes, uninstallDeletes, run, uninstallRun uint32
}

var headerFlags = []flag{
	{"disablestartupprompt", all}, {"uninstallable", until(5, 3, 10)}, {"createappdir", all},
	{"disabledirpage", until(5, 3, 3)}, {"disableprogramgrouppage", until(5, 3, 3)},
	{"allownoicons", all}, {"alwaysrestart", all}, {"alwaysusepersonalgroup", all},
	{"windowvisible", all}, {"windowshowcaption", all}, {"windowresizable", all},
	{"windowstartmaximized", all}, {"enabledirdoesntexistwarning", all}, {"password", all},
	{"allowrootdirectory", all}, {"disablefinishedpage", all}, {"changesassociations", until(5, 6, 1)},
	{"createuninstallregkey", until(5, 3, 8)}, {"usepreviousappdir", all}, {"backcolorhorizontal", all},
	{"usepreviousgroup", all}, {"updateuninstalllogappname", all}, {"useprevioussetuptype", all},
	{"disablereadymemo", all}, {"alwaysshowcomponentslist", all}, {"flatcomponentslist", all},
	{"showcomponentsizes", all}, {"useprevioustasks", all}, {"disablereadypage", all},
	{"alwaysshowdironreadypage", all}, {"alwaysshowgrouponreadypage", all}, {"allowuncpath", all},
	{"userinfopage", all}, {"useprevioususerinfo", all}, {"uninstallrestartcomputer", all},
	{"restartifneededbyrun", all}, {"showtaskstreelines", all}, {"allowcancelduringinstall", all},
	{"wizardimagestretch", all}, {"appenddefaultdirname", all}, {"appenddefaultgroupname", all},
	{"encryptionused", all}, {"changesenvironment", until(5, 6, 1)},
	{"showundisplayablelanguages", func(v Version) bool { return v.atLeast(5, 1, 7) && !v.Unicode }},
	{"setuplogging", since(5, 1, 13)}, {"signeduninstaller", since(5, 2, 1)},
	{"usepreviouslanguage", since(5, 3, 8)}, {"disablewelcomepage", since(5, 3, 9)},
	{"closeapplications", since(5, 5, 0)}, {"restartapplications", since(5, 5, 0)},
	{"allownetworkdrive", since(5, 5, 0)}, {"forcecloseapplications", since(5, 5, 7)},
	{"appnamehasconsts", since(6, 0, 0)}, {"usepreviousprivileges", since(6, 0, 0)},
	{"wizardresizable", since(6, 0, 0)},
}

var (
	fileFlags = []flag{
		{"confirmoverwrite", all}, {"uninsneveruninstall", all}, {"restartreplace", all},
		{"deleteafterinstall", all}, {"regserver", all}, {"regtypelib", all}, {"sharedfile", all},
		{"comparetimestamp", all}, {"fontisnttruetype", all}, {"skipifsourcedoesntexist", all},
		{"overwritereadonly", all}, {"replacesameversion", all}, {"customdestname", all},
		{"onlyifdestfileexists", all}, {"noregerror", all}, {"uninsrestartdelete", all},
		{"onlyifdoesntexist", all}, {"ignoreversion", all}, {"promptifolder", all}, {"dontcopy", all},
		{"uninsremovereadonly", all}, {"recursesubdirsexternal", all},
		{"replacesameversionifcontentsdiffer", all}, {"dontverifychecksum", all},
		{"uninsnosharedfileprompt", all}, {"createallsubdirs", all}, {"32bit", since(5, 1, 2)},
		{"64bit", since(5, 1, 2)}, {"externalsizepreset", since(5, 2, 0)}, {"setntfscompression", since(5, 2, 0)},
		{"unsetntfscompression", since(5, 2, 0)}, {"gacinstall", since(5, 2, 5)},
	}
	dirFlags = []flag{
		{"uninsneveruninstall", all}, {"deleteafterinstall", all}, {"uninsalwaysuninstall", all},
		{"setntfscompression", since(5, 2, 0)}, {"unsetntfscompression", since(5, 2, 0)},
	}
	iconFlags = []flag{
		{"uninsneveruninstall", all}, {"createonlyiffileexists", all}, {"useapppaths", all},
		{"foldershortcut", all}, {"excludefromshowinnewinstall", since(5, 4, 2)}, {"preventpinning", since(5, 5, 0)},
	}
	registryFlags = []flag{
		{"createvalueifdoesntexist", all}, {"uninsdeletevalue", all}, {"uninsclearvalue", all},
		{"uninsdeletekey", all}, {"uninsdeletekeyifempty", all}, {"preservestringtype", all},
		{"deletekey", all}, {"deletevalue", all}, {"noerror", all}, {"dontcreatekey", all},
		{"32bit", all}, {"64bit", all},
	}
	runFlags = []flag{
		{"shellexec", all}, {"skipifdoesntexist", all}, {"postinstall", all}, {"unchecked", all},
		{"skipifsilent", all}, {"skipifnotsilent", all}, {"hidewizard", all},
		{"32bit", since(5, 1, 10)}, {"64bit", since(5, 1, 10)}, {"runasoriginaluser", since(5, 2, 0)},
	}
	dataFlags = []flag{
		{"versioninfovalid", all}, {"versioninfonotvalid", all}, {"timestampinutc", all},
		{"isuninstallerexe", all}, {"callinstructionoptimized", all}, {"touch", all},
		{"chunkencrypted", all}, {"chunkcompressed", all}, {"solidbreak", since(5, 1, 13)},
		{"sign", since(5, 5, 7)}, {"signonce", since(5, 5, 7)},
	}
	taskFlags      = []flag{{"exclusive", all}, {"unchecked", all}, {"restart", all}, {"checkedonce", all}, {"dontinheritcheck", all}}
	componentFlags = []flag{{"fixed", all}, {"restart", all}, {"disablenouninstallwarning", all}, {"exclusive", all}, {"dontinheritcheck", all}}
	typeFlags      = []flag{{"iscustom", all}}
	iniFlags       = []flag{{"createkeyifdoesntexist", all}, {"uninsdeleteentry", all}, {"uninsdeletesection", all}, {"uninsdeletesectionifempty", all}, {"hasvalue", all}}
	archFlags      = []flag{{"unknown", all}, {"x86", all}, {"x64", all}, {"ia64", all}, {"arm64", since(5, 6, 0)}}
	overrideFlags  = []flag{{"commandline", all}, {"dialog", all}}
)

var hives = map[uint32]string{0: "HKCR", 1: "HKCU", 2: "HKLM", 3: "HKU", 4: "HKPD", 5: "HKCC", 6: "HKDD"}

// readHeader reads the setup header (src/setup/header.cpp) and the
// languages, which fix the code page of ANSI strings.
func (s *Setup) readHeader(d *decoder) entryCounts {
	v := d.v
	// Strings come first; ANSI ones are decoded once the code page is known.
	raw := map[string][]byte{}
	get := func(name string) { raw[name] = d.bin() }
	for _, n := range []string{"app_name", "app_versioned_name", "app_id", "copyright", "publisher", "publisher_url"} {
		get(n)
	}
	if v.atLeast(5, 1, 13) {
		get("support_phone")
	}
	for _, n := range []string{"support_url", "updates_url", "app_version", "default_dir_name", "default_group_name", "base_filename"} {
		get(n)
	}
	if v.below(5, 2, 5) {
		d.bin()
		d.bin()
		d.bin() // license, info before, info after
	}
	for i := 0; i < 7; i++ {
		d.bin() // uninstall files dir, name, icon, mutex, user name, organisation, serial
	}
	if v.below(5, 2, 5) {
		d.bin() // compiled code
	}
	for i := 0; i < 4; i++ {
		d.bin() // readme, contact, comments, modify path
	}
	if v.atLeast(5, 3, 8) {
		d.bin()
	}
	if v.atLeast(5, 3, 10) {
		d.bin()
	}
	if v.atLeast(5, 5, 0) {
		d.bin()
	}
	if v.atLeast(5, 5, 6) {
		d.bin() // setup mutex
	}
	if v.atLeast(5, 6, 1) {
		d.bin()
		d.bin() // changes environment, changes associations
	}
	if v.atLeast(5, 2, 5) {
		d.bin()
		d.bin()
		d.bin()
	}
	if v.atLeast(5, 2, 1) && v.below(5, 3, 10) {
		d.bin() // uninstaller signature
	}
	if v.atLeast(5, 2, 5) {
		d.bin() // compiled code
	}
	if !v.Unicode {
		d.skip(32) // lead bytes
	}
	var c entryCounts
	for _, p := range []*uint32{&c.languages, &c.messages, &c.permissions, &c.types, &c.components, &c.tasks,
		&c.dirs, &c.files, &c.data, &c.icons, &c.ini, &c.registry, &c.deletes, &c.uninstallDeletes, &c.run, &c.uninstallRun} {
		*p = d.u32()
	}
	d.winver()
	d.u32()
	d.u32() // back colors
	if v.below(5, 5, 7) {
		d.u32() // image back color
	}
	if v.atLeast(6, 0, 0) {
		d.u8()
		d.u32()
		d.u32() // wizard style and resize percentages
	}
	if v.atLeast(5, 5, 7) {
		d.u8() // image alpha format
	}
	if v.below(5, 3, 9) {
		d.skip(16) // password MD5
	} else {
		d.skip(20) // password SHA-1
	}
	d.skip(8) // salt
	d.u64()   // extra disk space
	d.u32()   // slices per disk
	d.u8()    // uninstall log mode
	d.u8()    // dir exists warning
	d.u8()    // privileges required
	if v.atLeast(5, 7, 0) {
		d.flags(overrideFlags)
	}
	d.u8()
	d.u8() // language dialog, detection
	comp := d.u8()
	if v.atLeast(5, 3, 9) {
		s.Header.Compression = enumName(comp, "stored", "zlib", "bzip2", "lzma1", "lzma2")
	} else {
		s.Header.Compression = enumName(comp, "stored", "zlib", "bzip2", "lzma1")
	}
	d.flags(archFlags)
	d.flags(archFlags)
	if v.atLeast(5, 2, 1) && v.below(5, 3, 10) {
		d.u32()
		d.u32()
	}
	if v.atLeast(5, 3, 3) {
		d.u8()
		d.u8()
	}
	if v.atLeast(5, 5, 0) {
		d.u64()
	} else if v.atLeast(5, 3, 6) {
		d.u32()
	}
	for _, f := range d.flags(headerFlags) {
		if f == "encryptionused" {
			s.Header.encryption = true
		}
	}
	if d.err != nil {
		return c
	}

	// Languages decide the code page of ANSI builds (innoextract: info.cpp).
	s.Codepage = 1200
	var cps []int
	for i := uint32(0); i < c.languages && d.err == nil && d.take(); i++ {
		name, cp := d.language()
		s.Header.Languages = append(s.Header.Languages, name)
		cps = append(cps, cp)
	}
	if !v.Unicode {
		s.Codepage = 1252
		if len(cps) > 0 {
			s.Codepage = cps[0]
			for _, cp := range cps {
				if cp == 1252 {
					s.Codepage = 1252
				}
			}
		}
	}
	d.cp = s.Codepage
	text := func(n string) string { return decodeText(raw[n], v.Unicode, d.cp) }
	s.Header.AppName, s.Header.AppVersionedName, s.Header.AppID = text("app_name"), text("app_versioned_name"), text("app_id")
	s.Header.AppPublisher, s.Header.AppVersion = text("publisher"), text("app_version")
	s.Header.DefaultDirName, s.Header.DefaultGroupName = text("default_dir_name"), text("default_group_name")
	return c
}

func enumName(x uint8, names ...string) string {
	if int(x) < len(names) {
		return names[x]
	}
	return fmt.Sprintf("unknown-%d", x)
}

// language reads a language entry and returns its name and code page.
func (d *decoder) language() (string, int) {
	v := d.v
	d.bin() // internal name
	name := decodeText(d.bin(), true, 1200)
	for i := 0; i < 4; i++ {
		d.bin() // fonts
	}
	d.bin() // data
	d.bin()
	d.bin()
	d.bin() // license, info before, info after
	d.u32() // language id
	cp := 1200
	if !v.Unicode {
		cp = int(d.u32())
		if cp == 0 {
			cp = 1252
		}
	} else if v.below(5, 3, 0) {
		d.u32()
	}
	d.skip(16) // font sizes
	if v.atLeast(5, 2, 3) {
		d.u8() // right to left
	}
	return name, cp
}

// readEntries reads every entry list of the first block in order.
func (s *Setup) readEntries(d *decoder, c entryCounts) {
	v := d.v
	each := func(n uint32, read func()) {
		for i := uint32(0); i < n && d.err == nil && d.take(); i++ {
			read()
		}
	}
	each(c.messages, func() { d.bin(); d.bin(); d.u32() })
	each(c.permissions, func() { d.bin() })
	each(c.types, func() {
		d.bin()
		d.bin()
		d.bin()
		d.bin() // name, description, languages, check
		d.winver()
		d.flags(typeFlags)
		d.u8()  // setup type
		d.u64() // size
	})
	each(c.components, func() {
		for i := 0; i < 5; i++ {
			d.bin() // name, description, types, languages, check
		}
		d.u64() // extra disk space
		d.u32() // level
		d.u8()  // used
		d.winver()
		d.flags(componentFlags)
		d.u64() // size
	})
	each(c.tasks, func() {
		for i := 0; i < 6; i++ {
			d.bin() // name, description, group description, components, languages, check
		}
		d.u32()
		d.u8()
		d.winver()
		d.flags(taskFlags)
	})
	each(c.dirs, func() {
		var e Dir
		e.Name = d.str()
		d.conditions()
		d.u32() // attributes
		d.winver()
		d.u16() // permission
		e.Flags = d.flags(dirFlags)
		s.Dirs = append(s.Dirs, e)
	})
	each(c.files, func() {
		var e File
		e.Source, e.Destination = d.str(), d.str()
		d.bin() // font name
		if v.atLeast(5, 2, 5) {
			d.bin() // strong assembly name
		}
		d.conditions()
		d.winver()
		e.Location = d.u32()
		d.u32() // attributes
		d.u64() // external size
		d.u16() // permission
		e.Flags = d.flags(fileFlags)
		e.Type = d.enum("user", "uninstaller")
		s.Files = append(s.Files, e)
	})
	each(c.icons, func() {
		var e Icon
		e.Name, e.Filename, e.Parameters, e.WorkingDir, e.IconFile, e.Comment = d.str(), d.str(), d.str(), d.str(), d.str(), d.str()
		d.conditions()
		if v.atLeast(5, 3, 5) {
			d.bin() // AppUserModelID
		}
		d.winver()
		d.u32() // icon index
		d.u32() // show command
		d.u8()  // close on exit
		d.u16() // hotkey
		e.Flags = d.flags(iconFlags)
		s.Icons = append(s.Icons, e)
	})
	each(c.ini, func() {
		for i := 0; i < 4; i++ {
			d.bin() // file, section, key, value
		}
		d.conditions()
		d.winver()
		d.flags(iniFlags)
	})
	each(c.registry, func() {
		var e Registry
		e.Subkey, e.ValueName = d.str(), d.str()
		e.Data = d.str() // values are kept as text (constants expand at install time)
		d.conditions()
		d.winver()
		root := d.u32() &^ 0x80000000
		if h, ok := hives[root]; ok {
			e.Root = h
		} else {
			e.Root = fmt.Sprintf("unknown-%d", root)
		}
		d.u16() // permission
		if v.atLeast(5, 2, 5) {
			e.Type = d.enum("none", "string", "expandsz", "dword", "binary", "multisz", "qword")
		} else {
			e.Type = d.enum("none", "string", "expandsz", "dword", "binary", "multisz")
		}
		e.Flags = d.flags(registryFlags)
		s.Registry = append(s.Registry, e)
	})
	deleteEntry := func() {
		d.bin()
		d.conditions()
		d.winver()
		d.u8()
	}
	each(c.deletes, deleteEntry)
	each(c.uninstallDeletes, deleteEntry)
	runEntry := func(keep bool) func() {
		return func() {
			var e Run
			e.Filename, e.Parameters, e.WorkingDir = d.str(), d.str(), d.str()
			d.bin() // RunOnceId
			e.StatusMsg = d.str()
			if v.atLeast(5, 1, 13) {
				d.bin() // verb
			}
			e.Description = d.str()
			d.conditions()
			d.winver()
			e.ShowCommand = int32(d.u32())
			e.Wait = d.enum("waituntilterminated", "nowait", "waituntilidle")
			e.Flags = d.flags(runFlags)
			if keep {
				s.Run = append(s.Run, e)
			}
		}
	}
	each(c.run, runEntry(true))
	each(c.uninstallRun, runEntry(false))

	// Wizard images, then the decompressor and decryption DLLs.
	images := uint32(1)
	for pass := 0; pass < 2 && d.err == nil; pass++ {
		if v.atLeast(5, 6, 0) {
			images = d.u32()
		}
		each(images, func() { d.bin() })
	}
	if s.Header.Compression == "bzip2" || (s.Header.Compression == "zlib" && v.atLeast(4, 2, 6)) {
		d.bin()
	}
	if s.Header.encryption {
		d.bin()
	}
}

// dataEntry reads a file location (src/setup/data.cpp).
func (d *decoder) dataEntry() DataEntry {
	v := d.v
	var e DataEntry
	d.u32()
	d.u32() // first and last slice
	e.ChunkOffset = d.u32()
	e.Offset = d.u64()
	e.Size = d.u64()
	e.ChunkSize = d.u64()
	if v.atLeast(5, 3, 9) {
		e.Checksum = "sha1:" + hex.EncodeToString(d.bytes(20))
	} else {
		e.Checksum = "md5:" + hex.EncodeToString(d.bytes(16))
	}
	d.u64() // file time
	d.u32()
	d.u32() // file version
	e.Flags = d.flags(dataFlags)
	return e
}

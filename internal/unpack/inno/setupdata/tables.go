package setupdata

import (
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
)

// Installer renders the setup data as the installer tables of
// docs/contracts.md (Inno Setup row): setup, files, dirs, registry, run,
// icons. Flags are Inno Setup script names, space-separated, in bit order.
func (s *Setup) Installer() *artifact.Installer {
	h := s.Header
	t := map[string]artifact.Table{}
	t["setup"] = artifact.Table{Columns: []string{"key", "value"}, Rows: [][]string{
		{"inno_version", s.Version.String()}, {"app_name", h.AppName}, {"app_versioned_name", h.AppVersionedName},
		{"app_version", h.AppVersion}, {"app_publisher", h.AppPublisher}, {"app_id", h.AppID},
		{"default_dir_name", h.DefaultDirName}, {"default_group_name", h.DefaultGroupName},
		{"compression", h.Compression}, {"languages", strings.Join(h.Languages, ", ")},
	}}
	files := artifact.Table{Columns: []string{"path", "destination", "dir", "name", "source", "flags", "size", "checksum"}}
	for _, f := range s.Files {
		dir, name := "", f.Destination
		if i := strings.LastIndex(f.Destination, `\`); i >= 0 {
			dir, name = f.Destination[:i], f.Destination[i+1:]
		}
		size, sum := "", ""
		if int(f.Location) < len(s.Data) {
			de := s.Data[f.Location]
			size, sum = strconv.FormatUint(de.Size, 10), de.Checksum
		}
		files.Rows = append(files.Rows, []string{ExtractPath(f.Destination), f.Destination, dir, name, f.Source,
			strings.Join(f.Flags, " "), size, sum})
	}
	t["files"] = files
	dirs := artifact.Table{Columns: []string{"name", "flags"}}
	for _, d := range s.Dirs {
		dirs.Rows = append(dirs.Rows, []string{d.Name, strings.Join(d.Flags, " ")})
	}
	t["dirs"] = dirs
	reg := artifact.Table{Columns: []string{"root", "subkey", "value_name", "type", "data", "flags"}}
	for _, r := range s.Registry {
		reg.Rows = append(reg.Rows, []string{r.Root, r.Subkey, r.ValueName, r.Type, r.Data, strings.Join(r.Flags, " ")})
	}
	t["registry"] = reg
	run := artifact.Table{Columns: []string{"filename", "parameters", "working_dir", "wait", "show_command", "flags", "description", "status_message"}}
	for _, r := range s.Run {
		run.Rows = append(run.Rows, []string{r.Filename, r.Parameters, r.WorkingDir, r.Wait,
			strconv.Itoa(int(r.ShowCommand)), strings.Join(r.Flags, " "), r.Description, r.StatusMsg})
	}
	t["run"] = run
	icons := artifact.Table{Columns: []string{"name", "filename", "parameters", "working_dir", "icon_file", "comment", "flags"}}
	for _, ic := range s.Icons {
		icons.Rows = append(icons.Rows, []string{ic.Name, ic.Filename, ic.Parameters, ic.WorkingDir, ic.IconFile, ic.Comment, strings.Join(ic.Flags, " ")})
	}
	t["icons"] = icons
	return &artifact.Installer{Format: "inno", Tables: t}
}

// ExtractPath maps a destination the way innoextract names the extracted
// file: "{app}\Skype.exe" becomes "app/Skype.exe" ("{{" is a literal brace,
// characters Windows forbids become "$", "." and ".." segments resolve).
func ExtractPath(dest string) string {
	var b strings.Builder
	for i := 0; i < len(dest); i++ {
		c := dest[i]
		switch {
		case c == '{' && i+1 < len(dest) && dest[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '{' || c == '}':
		case c < 32 || strings.IndexByte(`<>:"|?*`, c) >= 0:
			b.WriteByte('$')
		default:
			b.WriteByte(c)
		}
	}
	var out []string
	for _, seg := range strings.FieldsFunc(b.String(), func(r rune) bool { return r == '\\' || r == '/' }) {
		switch seg {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	return strings.Join(out, "/")
}

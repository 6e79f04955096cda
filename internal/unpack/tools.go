package unpack

import "os/exec"

// FindTools looks the external programs up on PATH; a missing one stays "".
func FindTools() Tools {
	look := func(names ...string) string {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
		}
		return ""
	}
	return Tools{
		SevenZip:    look("7zz", "7z"),
		Innoextract: look("innoextract"),
		Msiinfo:     look("msiinfo"),
		Cabextract:  look("cabextract"),
		Unshield:    look("unshield"),
	}
}

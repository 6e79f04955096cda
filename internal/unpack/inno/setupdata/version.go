package setupdata

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
)

// Version is a setup data version: the "(5.5.0) (u)" of the marker.
type Version struct {
	A, B, C int
	Unicode bool
}

func (v Version) n() int                   { return v.A*10000 + v.B*100 + v.C }
func (v Version) atLeast(a, b, c int) bool { return v.n() >= a*10000+b*100+c }
func (v Version) below(a, b, c int) bool   { return !v.atLeast(a, b, c) }

// String is the version as innoextract prints it ("5.5.0 (unicode)").
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.A, v.B, v.C)
	if v.Unicode {
		s += " (unicode)"
	}
	return s
}

// Supported tells whether this package decodes v: the official data
// versions from 5.1.0 up to the 6.0 series (innoextract 1.9's range ends
// at Inno Setup 6.0.5, whose data version is 6.0.0).
func (v Version) Supported() bool { return v.atLeast(5, 1, 0) && v.below(6, 1, 0) }

var markerPattern = regexp.MustCompile(`^Inno Setup Setup Data \((\d+)\.(\d+)\.(\d+)\)( \([uU]\))?$`)

// parseMarker reads the 64-byte version marker at the start of setup-0.
func parseMarker(m []byte) (Version, error) {
	if i := bytes.IndexByte(m, 0); i >= 0 {
		m = m[:i]
	}
	g := markerPattern.FindSubmatch(m)
	if g == nil {
		return Version{}, fmt.Errorf("inno: unknown setup data marker %q: %w", m, ErrUnsupported)
	}
	var n [3]int
	for i := range n {
		x, err := strconv.Atoi(string(g[i+1]))
		if err != nil || x > 99 {
			return Version{}, fmt.Errorf("inno: setup data marker %q: %w", m, ErrUnsupported)
		}
		n[i] = x
	}
	v := Version{A: n[0], B: n[1], C: n[2], Unicode: len(g[4]) > 0}
	// Inno Setup 6 is Unicode only; its marker from 6.3 on drops the "(u)".
	if v.A >= 6 {
		v.Unicode = true
	}
	// An unofficial 5.5.8 wrote the 5.5.7 format (innoextract: version.cpp).
	if v.n() == 50508 && v.Unicode {
		v.C = 7
	}
	return v, nil
}

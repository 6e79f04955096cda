package rules

import (
	"bytes"
	"fmt"

	yara "github.com/hillu/go-yara/v4"
)

// Freeze serialises the compiled rules in libyara's own format, so that a
// scan's worker processes load the parent's compiled set in milliseconds
// instead of compiling the sources again (about half a second each).
func (set *Set) Freeze() ([]byte, error) {
	var buf bytes.Buffer
	if err := set.rules.Write(&buf); err != nil {
		return nil, fmt.Errorf("rules: save compiled rules: %w", err)
	}
	return buf.Bytes(), nil
}

// Thaw loads rules frozen by Freeze. sources are the ones they were compiled
// from, so the set has the same Sources, Digest and Names as the original.
// The bytes must come from Freeze in a process of the same program (the
// format is libyara's, tied to its version): a scan's own parent.
func Thaw(frozen []byte, sources []Source) (*Set, error) {
	r, err := yara.ReadRules(bytes.NewReader(frozen))
	if err != nil {
		return nil, fmt.Errorf("rules: load compiled rules: %w", err)
	}
	return newSet(r, sources, nil), nil
}

package unpack

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Password is one entry of the list tried on encrypted archives. Label is
// what a report says opened an archive: a default's own text (it is a
// convention, not a secret), else the entry's place in the user's list,
// never the user's password itself.
type Password struct {
	Value string
	Label string
}

// DefaultPasswords are the sample-sharing conventions: malware and
// suspicious samples are customarily exchanged in archives protected with
// one of these, tried before any user-given password.
func DefaultPasswords() []Password {
	return []Password{{"infected", "infected"}, {"malware", "malware"}, {"virus", "virus"}}
}

// maxPasswordFile bounds --password-file: every entry costs one key
// derivation per encrypted archive, so a huge list is a mistake.
const (
	maxPasswordFile  = 1 << 20
	maxPasswordLines = 1000
)

// PasswordList is the defaults, then each --password flag (labelled
// "--password #N"), then each non-empty line of file ("--password-file line
// N"; CR of CRLF files removed). file "" means none.
func PasswordList(flags []string, file string) ([]Password, error) {
	list := DefaultPasswords()
	for i, p := range flags {
		if p == "" {
			return nil, fmt.Errorf("--password #%d is empty", i+1)
		}
		list = append(list, Password{Value: p, Label: "--password #" + strconv.Itoa(i+1)})
	}
	if file == "" {
		return list, nil
	}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("--password-file: %w", err)
	}
	if fi.Size() > maxPasswordFile {
		return nil, fmt.Errorf("--password-file %s: %d bytes, more than %d", file, fi.Size(), maxPasswordFile)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--password-file: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxPasswordFile)
	line, n := 0, 0
	for sc.Scan() {
		line++
		p := string(bytes.TrimSuffix(sc.Bytes(), []byte("\r")))
		if p == "" {
			continue
		}
		if n++; n > maxPasswordLines {
			return nil, fmt.Errorf("--password-file %s: more than %d passwords", file, maxPasswordLines)
		}
		list = append(list, Password{Value: p, Label: "--password-file line " + strconv.Itoa(line)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--password-file %s: %w", file, err)
	}
	return list, nil
}

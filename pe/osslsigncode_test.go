package pe

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// osslSigners runs `osslsigncode verify` and returns the signer subject of
// each signature it lists (primary first, then nested), with its \xHH
// escapes of non-ASCII bytes decoded, and its message digest algorithms.
func osslSigners(t *testing.T, path string) (subjects, algos []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// verify also tries to fetch CRLs; without a network it says so and
	// still prints every signature.
	out, _ := exec.CommandContext(ctx, "osslsigncode", "verify", "-in", path).Output()
	state := 0 // 1: in a signature, before its signer; 2: in its signer's certificate block
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Signature Index:"):
			state = 1
		case state == 1 && strings.HasPrefix(line, "Message digest algorithm  :"):
			algos = append(algos, strings.ToLower(strings.TrimSpace(strings.TrimPrefix(line, "Message digest algorithm  :"))))
		case state == 1 && strings.HasPrefix(line, "Signer's certificate:"):
			state = 2
		case state == 2 && strings.HasPrefix(line, "Subject:"):
			subjects = append(subjects, unescapeOpenSSL(strings.TrimSpace(strings.TrimPrefix(line, "Subject:"))))
			state = 0
		}
	}
	return subjects, algos
}

var hexEscape = regexp.MustCompile(`(\\x[0-9A-Fa-f]{2})+`)

// unescapeOpenSSL turns X509_NAME_oneline's \xHH byte escapes back into the bytes.
func unescapeOpenSSL(s string) string {
	return hexEscape.ReplaceAllStringFunc(s, func(m string) string {
		var b []byte
		for i := 0; i+3 < len(m)+1 && i < len(m); i += 4 {
			v, _ := strconv.ParseUint(m[i+2:i+4], 16, 8)
			b = append(b, byte(v))
		}
		return string(b)
	})
}

// TestSignersMatchOsslsigncode is issue 15's signer figure: on every signed
// real-corpus PE, our signature list (primary, then nested) names the same
// signer subjects as `osslsigncode verify`, in OpenSSL's format, with the
// same digest algorithms, and every digest we computed matches.
func TestSignersMatchOsslsigncode(t *testing.T) {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	if _, err := exec.LookPath("osslsigncode"); err != nil {
		t.Skip("osslsigncode not installed")
	}
	signed, compared, nested, email := 0, 0, 0, 0
	for _, p := range realPEs(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Analyze(context.Background(), b, Options{})
		if err != nil || s.Signature == nil {
			continue
		}
		signed++
		var ours, ourAlgos []string
		var all []*Signature
		var walk func(sig *Signature)
		walk = func(sig *Signature) {
			all = append(all, sig)
			ours = append(ours, sig.Signer)
			ourAlgos = append(ourAlgos, sig.DigestAlgorithm)
			for _, n := range sig.Nested {
				walk(n)
			}
		}
		walk(s.Signature)
		theirs, algos := osslSigners(t, p)
		name := filepath.Base(p)
		if len(theirs) == 0 {
			// osslsigncode 2.9 refuses shim's certificate table, which
			// holds a second WIN_CERTIFICATE ("Corrupted attribute
			// certificate table"); we read the first. Nothing to compare.
			t.Logf("%s: osslsigncode lists no signature; ours: %q", name, ours)
			continue
		}
		compared++
		nested += len(all) - 1
		if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
			t.Errorf("%s: signers\n  ours:         %q\n  osslsigncode: %q", name, ours, theirs)
		}
		if strings.Join(ourAlgos, ",") != strings.Join(algos, ",") {
			t.Errorf("%s: digest algorithms ours %v, osslsigncode %v", name, ourAlgos, algos)
		}
		for i, sig := range all {
			if !sig.DigestMatches {
				t.Errorf("%s: signature %d: digest %s does not match %s", name, i, sig.SignedDigest, sig.ComputedDigest)
			}
			if strings.Contains(sig.Signer, "/emailAddress=") {
				email++
			}
		}
	}
	t.Logf("%d signed real PEs, %d compared with osslsigncode, %d nested signatures, %d signers with emailAddress", signed, compared, nested, email)
	if compared < 25 || nested == 0 || email == 0 {
		t.Errorf("compared %d, nested %d, emailAddress %d: the real corpus should give 25+ signed files, nested signatures and e-mail subjects", compared, nested, email)
	}
}

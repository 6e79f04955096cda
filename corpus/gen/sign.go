package gen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// signers maps a manifest signer name to its synthetic test certificate in
// corpus/testdata/certs (<base>.crt and <base>.key).
var signers = map[string]string{
	"Skype Technologies SA":                 "skype",
	"TOM Online Inc.":                       "tom",
	"Guangming Online Skype JV (SYNTHETIC)": "gmw",
	"Contoso Notes Ltd.":                    "contoso",
}

// sign adds an Authenticode signature with a fixed signing time (-time), so
// the result is byte-identical run to run; no timestamp server is contacted.
func sign(ctx context.Context, certDir, scratch, signer, desc string, data []byte, ext string) ([]byte, error) {
	base, ok := signers[signer]
	if !ok {
		return nil, fmt.Errorf("sign: unknown signer %q", signer)
	}
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	in := filepath.Join(scratch, "unsigned"+ext)
	out := filepath.Join(scratch, "signed"+ext)
	if err := os.WriteFile(in, data, 0o644); err != nil {
		return nil, fmt.Errorf("sign: write %s: %w", in, err)
	}
	_ = os.Remove(out)
	if _, err := run(ctx, scratch, nil, "osslsigncode", "sign",
		"-certs", filepath.Join(certDir, base+".crt"), "-key", filepath.Join(certDir, base+".key"),
		"-h", "sha256", "-n", desc, "-time", strconv.Itoa(fixedEpoch),
		"-in", in, "-out", out); err != nil {
		return nil, fmt.Errorf("sign %s: %w", desc, err)
	}
	signed, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("sign: read %s: %w", out, err)
	}
	return signed, nil
}

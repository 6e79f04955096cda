package unpack

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestCheckedReader: a stream that ends other than declared is a read
// error naming what differs, wrapped with the caller's context; what the
// header does not declare is not checked; the bytes read are handed over
// either way (evidence kept as found).
func TestCheckedReader(t *testing.T) {
	body := []byte("the bytes the header describes")
	sum := crc32.ChecksumIEEE(body)
	whole := Declared{Size: uint64(len(body)), HasSize: true, CRC32: sum, HasCRC: true}
	for _, c := range []struct {
		name string
		b    []byte
		d    Declared
		want string // "" no error
	}{
		{"whole", body, whole, ""},
		{"nothing declared", []byte("anything"), Declared{}, ""},
		{"size only", body, Declared{Size: uint64(len(body)), HasSize: true}, ""},
		{"CRC only, short", body[:5], Declared{CRC32: sum, HasCRC: true}, "ctx: CRC-32 "},
		{"empty, as declared", nil, Declared{HasSize: true, HasCRC: true}, ""},
		{"short", body[:5], whole, "ctx: 5 bytes decoded, the header says 30"},
		{"long", append(body, '!'), whole, "ctx: 31 bytes decoded, the header says 30"},
		{"decoded empty", nil, whole, "ctx: 0 bytes decoded, the header says 30"},
		{"garbled", bytes.ToUpper(body), whole, "ctx: CRC-32 "},
	} {
		got, err := io.ReadAll(CheckedReader(iotest.OneByteReader(bytes.NewReader(c.b)), c.d, "ctx"))
		if !bytes.Equal(got, c.b) {
			t.Errorf("%s: handed over %q, read %q", c.name, got, c.b)
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one starting %q", c.name, err, c.want)
		case c.want != "":
			var m *MismatchError
			if !errors.As(err, &m) {
				t.Errorf("%s: %v is not a *MismatchError", c.name, err)
			}
		}
	}
	if _, err := io.ReadAll(CheckedReader(bytes.NewReader(body[:1]), whole, "")); err == nil || err.Error() != "1 bytes decoded, the header says 30" {
		t.Errorf("without context: %v", err)
	}
	// A read error of the stream itself is passed on, not turned into a mismatch.
	boom := errors.New("boom")
	if _, err := io.ReadAll(CheckedReader(iotest.ErrReader(boom), whole, "ctx")); !errors.Is(err, boom) {
		t.Errorf("stream error: %v", err)
	}
}

// TestContextReader: reads stop once the context ends; the stream's own
// errors name the format, io.EOF stays io.EOF.
func TestContextReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := ContextReader(ctx, strings.NewReader("abcdef"), "gzip")
	p := make([]byte, 2)
	if n, err := r.Read(p); n != 2 || err != nil {
		t.Fatalf("first read: %d, %v", n, err)
	}
	cancel()
	if n, err := r.Read(p); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %d, %v", n, err)
	}
	boom := errors.New("boom")
	if _, err := ContextReader(context.Background(), iotest.ErrReader(boom), "gzip").Read(p); !errors.Is(err, boom) || err.Error() != "gzip: boom" {
		t.Errorf("stream error: %v", err)
	}
	if _, err := ContextReader(context.Background(), iotest.ErrReader(boom), "").Read(p); err != boom {
		t.Errorf("unnamed stream error: %v", err)
	}
	if b, err := io.ReadAll(ContextReader(context.Background(), strings.NewReader("xy"), "gzip")); string(b) != "xy" || err != nil {
		t.Errorf("ReadAll = %q, %v", b, err)
	}
}

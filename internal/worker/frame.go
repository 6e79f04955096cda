// Package worker runs untrusted work in a child process and hands back only
// bytes: the parent starts the child (the same binary, a hidden
// subcommand), caps its memory, sends it requests and reads answers over a
// pair of pipes, and learns of its death, whatever killed it (the kernel at
// the memory cap, a signal, a Go runtime fatal error, a crash in C code).
// What the work is, is the caller's business: this package moves frames.
package worker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame kinds.
const (
	KindSpec    byte = 'S' // parent -> child, once: what the child needs to set up
	KindReady   byte = 'R' // child -> parent: set up, waiting for requests
	KindRequest byte = 'Q' // parent -> child: one unit of work
	KindAnswer  byte = 'A' // child -> parent: the result of the last request
	KindError   byte = 'E' // child -> parent: setup or the request failed; payload is the message
)

// MaxFrame caps a frame's payload: an answer is a report, which is capped at
// 512 MiB when read back from the archive too.
const MaxFrame = 512 << 20

// ErrFrameTooLarge says a frame declared more than the reader accepts.
var ErrFrameTooLarge = errors.New("worker: frame larger than the cap")

// WriteFrame writes one frame: a 4-byte big-endian payload length, the kind,
// the payload.
func WriteFrame(w io.Writer, kind byte, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("worker: write frame: %w (%d bytes)", ErrFrameTooLarge, len(payload))
	}
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(payload)))
	hdr[4] = kind
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("worker: write frame: %w", err)
	}
	if _, err := w.Write(payload); err != nil {
		return fmt.Errorf("worker: write frame: %w", err)
	}
	return nil
}

// ReadFrame reads one frame, refusing a declared length over max before
// allocating anything.
func ReadFrame(r io.Reader, max int) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, fmt.Errorf("worker: read frame: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if int64(n) > int64(max) {
		return 0, nil, fmt.Errorf("worker: read frame: %w (%d bytes declared, cap %d)", ErrFrameTooLarge, n, max)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, fmt.Errorf("worker: read frame payload: %w", err)
	}
	return hdr[4], p, nil
}

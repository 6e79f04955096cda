package unpack

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
)

// A node's SHA-256 names it: the walk needs it at once, to tell a repeat of
// earlier bytes and to key the node cache. Its MD5 and SHA-1 are only
// reported, and MD5 is the slowest of the three (under a GB/s), so they need
// not hold up the walk, the one part of a build that runs on a single core:
//   - a repeat of earlier bytes takes the first node's MD5 and SHA-1, which
//     are those of its bytes, instead of hashing them again;
//   - the others are hashed beside the walk when the caller lends a spare
//     core (Spare), else by the walk itself as before;
//   - a SHA-256 the caller made already (the parent hashed the input to key
//     the build) is taken by the walk at once and made again beside it
//     with the other two, to be checked (startClaimed);
//   - a SHA-256 and a SHA-1 the caller vouches for (it made them, and checks
//     that the input was not written to since) are taken, and the MD5
//     alone is made.
//
// Every digest is in its node before Run returns, whichever way it was made.

// Spare lends the walk cores it may use beside it. TryGo either runs f on
// another goroutine and returns true, or returns false at once when no core
// is free: the caller then does the work itself.
type Spare interface {
	TryGo(f func()) bool
}

// digestBeside is the smallest blob whose MD5 and SHA-1 are handed to a
// spare core: below it a goroutine costs more than the hashing.
const digestBeside = 64 << 10

// digests tracks one build's MD5 and SHA-1 made beside the walk and the
// repeats that wait for them.
type digests struct {
	spare   Spare
	pending []*pendingDigest
	repeats [][2]*artifact.Node // a repeat and the first node with its bytes
}

// pendingDigest is one node's MD5 and SHA-1 being made on a spare core. The
// goroutine writes only this record; finish copies it into the node.
type pendingDigest struct {
	n         *artifact.Node
	claimed   string // the SHA-256 the caller gave for the bytes, checked here; "" if none
	md5, sha1 string
	sha256    string // made only to check claimed
	err       error
	done      chan struct{}
}

// start makes n's MD5 and SHA-1 (n.SHA256 and n.Size set): beside the walk
// when a core is spare and the blob is worth it, else now. The returned
// wait blocks until the blob's bytes are no longer read: the caller calls it
// before releasing a spilled blob's file. A failure is an issue on n.
func (d *digests) start(n *artifact.Node, blob *artifact.Blob) (wait func()) {
	nothing := func() {}
	before, err := blob.Stat() // as the walk read it
	if err != nil {
		n.AddIssue(artifact.KindRead, "read", fmt.Sprintf("hash: %v", err))
		return nothing
	}
	if wait := d.beside(n, blob, before, ""); wait != nil {
		return wait
	}
	m, s1, _, err := besideDigests(blob, before, "", n.SHA1 == "")
	if err != nil {
		n.AddIssue(artifact.KindRead, "read", err.Error())
		return nothing
	}
	n.MD5 = m
	if n.SHA1 == "" {
		n.SHA1 = s1
	}
	return nothing
}

// startClaimed is start for a spilled blob whose SHA-256 the caller made
// before (the input, hashed by the parent to key the build): when a core
// is spare, all three digests are made there, the walk takes the claimed
// SHA-256 meanwhile, and finish checks it against the bytes (a mismatch is
// an issue, and the node gets the SHA-256 of what was read). It returns
// nil, having done nothing, when no core is spare.
func (d *digests) startClaimed(n *artifact.Node, blob *artifact.Blob, claimed string) (wait func()) {
	if blob.InMemory() {
		return nil
	}
	before, err := blob.Stat()
	if err != nil {
		return nil // the walk hashes it, and meets the error itself
	}
	return d.beside(n, blob, before, claimed)
}

// beside hands n's digests to a spare core and returns what start returns,
// or nil when no core is spare or the blob is too small to be worth it.
func (d *digests) beside(n *artifact.Node, blob *artifact.Blob, before os.FileInfo, claimed string) (wait func()) {
	if d.spare == nil || blob.Size() < digestBeside {
		return nil
	}
	// A node with a SHA-1 already has the caller's (vouched): only the
	// MD5 is made, and finish keeps it.
	p := &pendingDigest{n: n, claimed: claimed, done: make(chan struct{})}
	withSHA1 := n.SHA1 == ""
	run := func() {
		defer close(p.done)
		p.md5, p.sha1, p.sha256, p.err = besideDigests(blob, before, claimed, withSHA1)
	}
	if !d.spare.TryGo(run) {
		return nil
	}
	d.pending = append(d.pending, p)
	if blob.InMemory() {
		return func() {} // the bytes stay alive with the goroutine
	}
	return func() { <-p.done }
}

// besideDigests hashes blob for its MD5, for its SHA-1 when withSHA1, and
// for its SHA-256 too when claimed is set. A spilled blob is read a second time: if its
// file was written to since the walk read it (its size, modification or
// change time differ from before), the digests would be of other bytes
// than the node's, false evidence, and are an error.
func besideDigests(blob *artifact.Blob, before os.FileInfo, claimed string, withSHA1 bool) (md5Hex, sha1Hex, sha256Hex string, err error) {
	hm := md5.New()
	hs := []io.Writer{hm}
	var h1 hash.Hash
	if withSHA1 {
		h1 = sha1.New()
		hs = append(hs, h1)
	}
	var h256 hash.Hash
	if claimed != "" {
		h256 = sha256.New()
		hs = append(hs, h256)
	}
	// One goroutine feeds the hashes in turn: this runs on a lane, beside
	// the walk, and hashes side by side would take the walk's core too.
	if _, err := io.Copy(io.MultiWriter(hs...), blob.Reader()); err != nil {
		return "", "", "", fmt.Errorf("hash: %w", err)
	}
	if before != nil {
		after, err := blob.Stat()
		if err != nil {
			return "", "", "", fmt.Errorf("hash: %w", err)
		}
		if changed(before, after) {
			return "", "", "", fmt.Errorf("hash: the file changed while being read (%d bytes modified %s, then %d bytes modified %s)",
				before.Size(), before.ModTime().UTC().Format(time.RFC3339Nano), after.Size(), after.ModTime().UTC().Format(time.RFC3339Nano))
		}
	}
	if h256 != nil {
		sha256Hex = hex.EncodeToString(h256.Sum(nil))
	}
	if h1 != nil {
		sha1Hex = hex.EncodeToString(h1.Sum(nil))
	}
	return hex.EncodeToString(hm.Sum(nil)), sha1Hex, sha256Hex, nil
}

// changed tells whether a file was written to between two stats: its
// size, modification time or change time (which no one can set back) differ.
func changed(before, after os.FileInfo) bool {
	b, _ := artifact.StampOf(before)
	a, _ := artifact.StampOf(after)
	return a != b
}

// changedSince is the issue of an input whose bytes are not those its
// SHA-256 was made of when the scan began.
func changedSince(claimed, now string) string {
	return fmt.Sprintf("the input changed while it was scanned: sha256 %s when the scan began, %s when read", claimed, now)
}

// repeat gives n, which has the bytes of first, first's MD5 and SHA-1: now,
// or once they are made.
func (d *digests) repeat(n, first *artifact.Node) {
	if first.MD5 != "" {
		n.MD5, n.SHA1 = first.MD5, first.SHA1
		return
	}
	d.repeats = append(d.repeats, [2]*artifact.Node{n, first})
}

// finish waits for the digests made beside the walk, puts them in their
// nodes (a failure is an issue on its node) and copies them to the repeats.
func (d *digests) finish() {
	for _, p := range d.pending {
		<-p.done
		if p.err != nil {
			p.n.AddIssue(artifact.KindRead, "read", p.err.Error())
			continue
		}
		p.n.MD5 = p.md5
		if p.n.SHA1 == "" {
			p.n.SHA1 = p.sha1
		}
		if p.claimed != "" && p.sha256 != p.claimed {
			p.n.SHA256 = p.sha256
			p.n.AddIssue(artifact.KindRead, "read", changedSince(p.claimed, p.sha256))
		}
	}
	for _, r := range d.repeats {
		r[0].MD5, r[0].SHA1 = r[1].MD5, r[1].SHA1
	}
	d.pending, d.repeats = nil, nil
}

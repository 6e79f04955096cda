package tom

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/tom/endpoints"
	"github.com/tomscan/tomscan/internal/tom/keysearch"
	"github.com/tomscan/tomscan/pe"
)

// Bounds on what Visit keeps per build.
const (
	keyWindowRadius = 4096     // keys lie within 4 KiB of a list URL
	maxWindows      = 32       // key windows per build
	maxBlobs        = 64       // candidate list blobs per build
	minBlobBytes    = 16       // smaller cannot hold a list of MinLines keywords encrypted
	maxBlobBytes    = 1 << 20  // one candidate list (the largest known list is 20 KB)
	maxAllBlobBytes = 16 << 20 // all candidates of a build
	maxHitsPerNode  = 4096     // endpoint occurrences kept per node
)

// collected is what Visit keeps for Finish.
type collected struct {
	windows   []keysearch.Window
	blobs     []keysearch.Blob
	blobBytes int
	blobSeen  map[[32]byte]bool
	hits      map[string][]nodeHit // node ID -> endpoint occurrences
	listNodes map[string]bool      // nodes that carry a keyword-list URL
	des       *DESKey              // from a rule match
	ups       []upHit
	issues    []artifact.Issue
	limitHit  map[string]bool
}

type nodeHit struct {
	endpoints.Hit
	Encoding string
}

func (c *collected) limit(what, msg string) {
	if c.limitHit == nil {
		c.limitHit = map[string]bool{}
	}
	if c.limitHit[what] {
		return
	}
	c.limitHit[what] = true
	c.issues = append(c.issues, artifact.Issue{Kind: artifact.KindLimit, Stage: "tom", Message: msg})
}

// Visit looks at one node's bytes, after PE, strings and YARA have run on it.
// It keeps endpoint occurrences, key windows around keyword-list URLs, the
// DES upload key beside an upload URL, and candidate list blobs.
func (b *Build) Visit(ctx context.Context, n *artifact.Node, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := &b.c
	if c.hits == nil {
		c.hits = map[string][]nodeHit{}
		c.listNodes = map[string]bool{}
		c.blobSeen = map[[32]byte]bool{}
	}
	b.visitStrings(ctx, n, data)
	b.visitRuleKeys(n)
	b.visitBlobs(n, data)
}

func (b *Build) visitStrings(ctx context.Context, n *artifact.Node, data []byte) {
	c := &b.c
	if n.Strings == nil {
		return
	}
	for i, s := range n.Strings.Strings {
		if i%1024 == 0 && ctx.Err() != nil {
			return
		}
		for _, h := range endpoints.Find(s.Value, s.Offset, s.Encoding) {
			if len(c.hits[n.ID]) >= maxHitsPerNode {
				c.limit("hits:"+n.ID, fmt.Sprintf("more than %d endpoint occurrences in %s: the rest are not listed", maxHitsPerNode, n.ID))
				break
			}
			c.hits[n.ID] = append(c.hits[n.ID], nodeHit{Hit: h, Encoding: s.Encoding})
			switch h.Class {
			case endpoints.ClassKeywordList:
				c.listNodes[n.ID] = true
				b.keepWindow(n, data, h)
			case endpoints.ClassUpload:
				b.keepUpload(n, data, h, s)
			}
		}
	}
}

// keepWindow copies the bytes within keyWindowRadius of a list URL.
func (b *Build) keepWindow(n *artifact.Node, data []byte, h endpoints.Hit) {
	c := &b.c
	lo, hi := h.Offset-keyWindowRadius, h.Offset+int64(len(h.Value))*2+keyWindowRadius
	if lo < 0 {
		lo = 0
	}
	if hi > int64(len(data)) {
		hi = int64(len(data))
	}
	if lo >= hi {
		return
	}
	for _, w := range c.windows {
		if w.Node == n.ID && lo >= w.Offset && hi <= w.Offset+int64(len(w.Data)) {
			return // already kept
		}
	}
	if len(c.windows) >= maxWindows {
		c.limit("windows", fmt.Sprintf("more than %d keyword-list URLs: keys near the others are not searched", maxWindows))
		return
	}
	c.windows = append(c.windows, keysearch.Window{Node: n.ID, Offset: lo, Data: append([]byte(nil), data[lo:hi]...)})
}

// keepUpload keeps the bytes right after an upload URL that ends its
// string, where the upload key's field would start.
func (b *Build) keepUpload(n *artifact.Node, data []byte, h endpoints.Hit, s pe.String) {
	var end int64
	switch s.Encoding {
	case pe.EncASCII:
		end = h.Offset + int64(len(h.Value))
		if end >= int64(len(data)) || data[end] != 0 {
			return
		}
		end++
	case pe.EncUTF16LE:
		end = h.Offset + 2*int64(len(h.Value))
		if end+1 >= int64(len(data)) || data[end] != 0 || data[end+1] != 0 {
			return
		}
		end += 2
	default:
		return
	}
	if len(b.c.ups) >= maxWindows {
		return
	}
	hi := min(end+32, int64(len(data)))
	b.c.ups = append(b.c.ups, upHit{node: n.ID, hit: h, enc: s.Encoding, after: append([]byte(nil), data[end:hi]...), at: end})
}

// visitRuleKeys takes the DES key from a YARA rule that matched it, when the
// rule pack has one (its name mentions DES and it matched 8 bytes).
func (b *Build) visitRuleKeys(n *artifact.Node) {
	c := &b.c
	for _, m := range n.Matches {
		if !strings.Contains(strings.ToUpper(m.Rule), "_DES") {
			continue
		}
		for _, s := range m.Strings {
			raw := s.Data
			if strings.HasPrefix(raw, `"`) {
				if u, err := strconv.Unquote(raw); err == nil {
					raw = u
				}
			}
			if len(raw) != 8 {
				continue
			}
			d := &DESKey{KeyHex: fmt.Sprintf("%x", raw), Node: n.ID, Offset: int64(s.Offset), Method: "rule:" + m.Rule}
			if c.des == nil || d.Node < c.des.Node || d.Node == c.des.Node && d.Offset < c.des.Offset {
				c.des = d
			}
		}
	}
}

// visitBlobs keeps RCDATA leaves and plain files that could be a list.
func (b *Build) visitBlobs(n *artifact.Node, data []byte) {
	if n.PE != nil {
		for _, r := range n.PE.Resources {
			if r.Type != "RCDATA" || r.Size < minBlobBytes || r.Size > maxBlobBytes {
				continue
			}
			if d := r.Bytes(data); d != nil {
				b.keepBlob(keysearch.Blob{Node: n.ID, Location: "rcdata", Resource: r.NodeName(), Offset: r.Offset, Data: d})
			}
		}
		return
	}
	switch n.Type {
	case filetype.Text, filetype.Unknown, "":
	default:
		return // containers are unpacked; their children are visited
	}
	if len(data) < minBlobBytes || len(data) > maxBlobBytes {
		return
	}
	b.keepBlob(keysearch.Blob{Node: n.ID, Location: "installer-file", Data: data})
}

func (b *Build) keepBlob(bl keysearch.Blob) {
	c := &b.c
	sum := sha256.Sum256(bl.Data)
	if c.blobSeen[sum] {
		return
	}
	if len(c.blobs) >= maxBlobs || c.blobBytes+len(bl.Data) > maxAllBlobBytes {
		c.limit("blobs", fmt.Sprintf("more than %d candidate list blobs or %d bytes: %s and later ones are not searched", maxBlobs, maxAllBlobBytes, bl.Node))
		return
	}
	c.blobSeen[sum] = true
	bl.Data = append([]byte(nil), bl.Data...)
	c.blobs = append(c.blobs, bl)
	c.blobBytes += len(bl.Data)
}

// sortedBlobs orders blobs by node and offset, so results do not depend on
// the visiting order.
func (c *collected) sortedBlobs() []keysearch.Blob {
	out := append([]keysearch.Blob(nil), c.blobs...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Offset < out[j].Offset
	})
	return out
}

// location names where a list lives: an RCDATA leaf, a cache file (a file
// in the same folder as a client carrying a keyword-list URL: where the
// client would have saved what it downloaded), or another file of the
// installer.
func (c *collected) location(bl keysearch.Blob) string {
	if bl.Resource != "" {
		return "rcdata"
	}
	for id := range c.listNodes {
		if sameFolder(id, bl.Node) {
			return "cache-file"
		}
	}
	return "installer-file"
}

func sameFolder(a, b string) bool {
	ia, ib := strings.LastIndex(a, artifact.PathSeparator), strings.LastIndex(b, artifact.PathSeparator)
	if ia < 0 || ib < 0 || a[:ia] != b[:ib] {
		return false
	}
	return path.Dir(a[ia+1:]) == path.Dir(b[ib+1:])
}

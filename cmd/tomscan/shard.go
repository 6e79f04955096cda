package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/pipeline"
)

// shard is `scan --shard i/n`: this run takes the builds whose sha256 falls
// in shard i of n (0 <= i < n). The shard of a build depends on its bytes
// alone (the first 8 bytes of its sha256, as a big-endian number, mod n), so
// it is the same whatever the input order, the machine or the other inputs.
type shard struct{ i, n uint64 }

// parseShard reads "i/n"; "" is no sharding (nil).
func parseShard(s string) (*shard, error) {
	if s == "" {
		return nil, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.ParseUint(a, 10, 64)
	n, err2 := strconv.ParseUint(b, 10, 64)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return nil, fmt.Errorf("--shard %q: want i/n, two whole numbers (0/4 is the first of 4 shards)", s)
	case n == 0:
		return nil, fmt.Errorf("--shard %q: the number of shards must be at least 1", s)
	case i >= n:
		return nil, fmt.Errorf("--shard %q: shards are numbered 0 to %d", s, n-1)
	}
	return &shard{i: i, n: n}, nil
}

// of is the shard a build key falls in. A key is the build's sha256 in hex,
// or for an input unreadable at discovery "unreadable-" and the sha256 of
// its path: the hex digest decides either way.
func (s *shard) of(key string) uint64 {
	hexPart := key[strings.LastIndexByte(key, '-')+1:]
	raw, err := hex.DecodeString(hexPart)
	if err != nil || len(raw) < 8 {
		// Not a digest (cannot happen for pipeline keys): still stable.
		return uint64(len(key)) % s.n
	}
	return binary.BigEndian.Uint64(raw[:8]) % s.n
}

// filter keeps the builds of this shard, in their order.
func (s *shard) filter(builds []*pipeline.Build) []*pipeline.Build {
	if s == nil {
		return builds
	}
	var out []*pipeline.Build
	for _, b := range builds {
		if s.of(b.Key) == s.i {
			out = append(out, b)
		}
	}
	return out
}

// Package limits holds the one Limits struct every stage obeys and the
// per-build Budget that charges against it. A hit limit is always reported
// as an issue on the node where it happened, never a silent truncation.
package limits

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Limits bounds the work done on one build. Units are in the field names'
// comments; zero values are invalid (use Default and override).
type Limits struct {
	MaxDepth            int           `json:"max_depth"`            // containers nested below the build root
	MaxEntries          int           `json:"max_entries"`          // children listed per container
	MaxEntryBytes       int64         `json:"max_entry_bytes"`      // bytes of one extracted child
	MaxTotalBytes       int64         `json:"max_total_bytes"`      // bytes extracted per build, all nodes together
	MaxRatio            float64       `json:"max_ratio"`            // child bytes / container bytes, per container
	MaxNodes            int           `json:"max_nodes"`            // nodes in one build's tree
	BuildTimeout        time.Duration `json:"build_timeout_ns"`     // wall-clock per build
	InMemoryBytes       int64         `json:"in_memory_bytes"`      // children up to this size stay in RAM; larger spill to temp files
	MaxPEBytes          int64         `json:"max_pe_bytes"`         // PEs larger than this are not parsed
	MaxStringsPerNode   int           `json:"max_strings_per_node"` // extracted strings kept per node
	MinStringLength     int           `json:"min_string_length"`    // characters
	MaxYARAMatchesBytes int64         `json:"max_yara_scan_bytes"`  // nodes larger than this are not YARA-scanned
	ToolTimeout         time.Duration `json:"tool_timeout_ns"`      // one external tool run (7z, innoextract)
}

// Default returns the documented defaults (README "Limits").
func Default() Limits {
	return Limits{
		MaxDepth:            16,
		MaxEntries:          10000,
		MaxEntryBytes:       512 << 20,
		MaxTotalBytes:       2 << 30,
		MaxRatio:            200,
		MaxNodes:            20000,
		BuildTimeout:        10 * time.Minute,
		InMemoryBytes:       16 << 20,
		MaxPEBytes:          256 << 20,
		MaxStringsPerNode:   5000,
		MinStringLength:     6,
		MaxYARAMatchesBytes: 512 << 20,
		ToolTimeout:         2 * time.Minute,
	}
}

// Validate reports the first field that is out of range.
func (l Limits) Validate() error {
	switch {
	case l.MaxDepth < 1:
		return fmt.Errorf("limits: max depth %d must be >= 1", l.MaxDepth)
	case l.MaxEntries < 1:
		return fmt.Errorf("limits: max entries %d must be >= 1", l.MaxEntries)
	case l.MaxEntryBytes < 1:
		return fmt.Errorf("limits: max entry bytes %d must be >= 1", l.MaxEntryBytes)
	case l.MaxTotalBytes < l.MaxEntryBytes:
		return fmt.Errorf("limits: max total bytes %d must be >= max entry bytes %d", l.MaxTotalBytes, l.MaxEntryBytes)
	case l.MaxRatio < 1:
		return fmt.Errorf("limits: max ratio %g must be >= 1", l.MaxRatio)
	case l.MaxNodes < 1:
		return fmt.Errorf("limits: max nodes %d must be >= 1", l.MaxNodes)
	case l.BuildTimeout <= 0:
		return fmt.Errorf("limits: build timeout %s must be > 0", l.BuildTimeout)
	case l.InMemoryBytes < 0:
		return fmt.Errorf("limits: in-memory bytes %d must be >= 0", l.InMemoryBytes)
	case l.MaxPEBytes < 1:
		return fmt.Errorf("limits: max PE bytes %d must be >= 1", l.MaxPEBytes)
	case l.MaxStringsPerNode < 0:
		return fmt.Errorf("limits: max strings per node %d must be >= 0", l.MaxStringsPerNode)
	case l.MinStringLength < 3:
		return fmt.Errorf("limits: min string length %d must be >= 3", l.MinStringLength)
	case l.MaxYARAMatchesBytes < 1:
		return fmt.Errorf("limits: max YARA scan bytes %d must be >= 1", l.MaxYARAMatchesBytes)
	case l.ToolTimeout <= 0:
		return fmt.Errorf("limits: tool timeout %s must be > 0", l.ToolTimeout)
	}
	return nil
}

// Sentinel errors, matched with errors.Is by callers that turn them into issues.
var (
	ErrTotalBytes = errors.New("limit: total bytes per build exceeded")
	ErrNodes      = errors.New("limit: nodes per build exceeded")
)

// Budget is the running account of one build. Safe for concurrent use.
type Budget struct {
	limits Limits
	mu     sync.Mutex
	bytes  int64
	nodes  int
}

// NewBudget starts an empty account against l.
func NewBudget(l Limits) *Budget { return &Budget{limits: l} }

// Limits returns the limits the budget charges against.
func (b *Budget) Limits() Limits { return b.limits }

// ChargeBytes books n extracted bytes; it fails once the build total would pass the limit.
func (b *Budget) ChargeBytes(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bytes+n > b.limits.MaxTotalBytes {
		return fmt.Errorf("%w (%d + %d > %d)", ErrTotalBytes, b.bytes, n, b.limits.MaxTotalBytes)
	}
	b.bytes += n
	return nil
}

// ChargeNode books one node in the tree.
func (b *Budget) ChargeNode() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.nodes+1 > b.limits.MaxNodes {
		return fmt.Errorf("%w (%d)", ErrNodes, b.limits.MaxNodes)
	}
	b.nodes++
	return nil
}

// Used returns the bytes and nodes booked so far.
func (b *Budget) Used() (bytes int64, nodes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bytes, b.nodes
}

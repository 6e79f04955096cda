package limits

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if Default().MaxDepth != 16 {
		t.Fatalf("default max depth = %d, the documented default is 16", Default().MaxDepth)
	}
}

func TestValidateRejectsEachBadField(t *testing.T) {
	cases := map[string]func(*Limits){
		"depth":       func(l *Limits) { l.MaxDepth = 0 },
		"entries":     func(l *Limits) { l.MaxEntries = 0 },
		"entry bytes": func(l *Limits) { l.MaxEntryBytes = 0 },
		"total<entry": func(l *Limits) { l.MaxTotalBytes = l.MaxEntryBytes - 1 },
		"ratio":       func(l *Limits) { l.MaxRatio = 0.5 },
		"nodes":       func(l *Limits) { l.MaxNodes = 0 },
		"timeout":     func(l *Limits) { l.BuildTimeout = 0 },
		"in memory":   func(l *Limits) { l.InMemoryBytes = -1 },
		"pe bytes":    func(l *Limits) { l.MaxPEBytes = 0 },
		"strings":     func(l *Limits) { l.MaxStringsPerNode = -1 },
		"min string":  func(l *Limits) { l.MinStringLength = 2 },
		"yara bytes":  func(l *Limits) { l.MaxYARAMatchesBytes = 0 },
		"tool":        func(l *Limits) { l.ToolTimeout = -time.Second },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			l := Default()
			mutate(&l)
			if err := l.Validate(); err == nil {
				t.Fatalf("Validate accepted a bad %s", name)
			}
		})
	}
}

func TestBudgetChargesAndRefuses(t *testing.T) {
	l := Default()
	l.MaxTotalBytes = 100
	l.MaxEntryBytes = 100
	l.MaxNodes = 3
	b := NewBudget(l)
	if err := b.ChargeBytes(60); err != nil {
		t.Fatal(err)
	}
	if err := b.ChargeBytes(41); !errors.Is(err, ErrTotalBytes) {
		t.Fatalf("ChargeBytes over the total = %v, want ErrTotalBytes", err)
	}
	if err := b.ChargeBytes(40); err != nil {
		t.Fatalf("a refused charge must not be booked: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := b.ChargeNode(); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.ChargeNode(); !errors.Is(err, ErrNodes) {
		t.Fatalf("fourth node = %v, want ErrNodes", err)
	}
	if bytes, nodes := b.Used(); bytes != 100 || nodes != 3 {
		t.Fatalf("Used = %d, %d", bytes, nodes)
	}
}

func TestBudgetIsSafeForConcurrentUse(t *testing.T) {
	l := Default()
	l.MaxNodes = 1000
	b := NewBudget(l)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				_ = b.ChargeNode()
			}
		}()
	}
	wg.Wait()
	if _, nodes := b.Used(); nodes != 1000 {
		t.Fatalf("nodes = %d, want exactly the limit 1000", nodes)
	}
}

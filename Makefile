# tomscan: every target runs `setup` first, which installs what is missing
# (Debian packages, Go modules) and does nothing when all is there.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
BIN       := bin/tomscan
VERSION   ?= 0.1.0-dev
COMMIT    := $(shell git rev-parse --short=12 HEAD 2>/dev/null || true)
LDFLAGS   := -X github.com/tomscan/tomscan/internal/version.Version=$(VERSION) -X github.com/tomscan/tomscan/internal/version.Commit=$(COMMIT)

# Shared data (real TOM-Skype keyword lists) lives beside the checkout when it
# exists; a fresh clone without it falls back to the synthetic lists shipped in
# corpus/testdata/synthetic-keyword-lists (clearly marked as such).
SHARED    ?= $(abspath ../shared)
KEYWORDS  ?= $(if $(wildcard $(SHARED)/data/tom-skype-keyword-lists/tom-skype-raw-data),$(SHARED)/data/tom-skype-keyword-lists,$(CURDIR)/corpus/testdata/synthetic-keyword-lists)
export TOMSCAN_KEYWORD_LISTS := $(KEYWORDS)

CORPUS    ?= $(CURDIR)/corpus/out
REAL      ?= $(CURDIR)/corpus/real
# Tests that need the corpora read these (docs/contracts.md); `make test` builds both first.
export TOMSCAN_CORPUS      := $(CORPUS)
export TOMSCAN_REAL_CORPUS := $(REAL)
DEMO_OUT  ?= $(CURDIR)/demo-out
FUZZTIME  ?= 30s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: setup build test demo lint fuzz bench bench-e2e bench-pages stress stress-kill corpus corpus-real clean

setup:
	@bash scripts/setup.sh

build: setup
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tomscan

test: setup corpus corpus-real
	$(GO) vet ./...
	TOMSCAN_ARTIFACTS='$(CURDIR)/test-artifacts' $(GO) test -race -count=1 -timeout 25m ./...

lint: setup
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

corpus: setup
	$(GO) run ./corpus/cmd/gencorpus -specs corpus/specs -keywords '$(KEYWORDS)' -out '$(CORPUS)'

corpus-real: setup
	$(GO) run ./corpus/cmd/genreal -out '$(REAL)'

demo: build corpus
	rm -rf '$(DEMO_OUT)'
	./$(BIN) scan '$(CORPUS)/builds' --out '$(DEMO_OUT)' --keyword-lists '$(KEYWORDS)' --format json,md,html || [ $$? -eq 1 ]
	@echo
	@echo "demo: reports are in $(DEMO_OUT)/builds/<sha256>/report.{json,md,html}"
	@echo "demo: archive index: $(DEMO_OUT)/index.html (SQLite: $(DEMO_OUT)/index.sqlite)"

fuzz: setup
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# The hostile-input campaign (corpus/hostile): STRESS_N mutants of the corpus,
# bombs, traversal and hostile names scanned by the built binary; prints the
# table and exits 1 when a target is missed. A 200-input subset runs in `make test`
# (TestCampaignSubset).
# `make stress` then runs the kill campaign (also alone: `make stress-kill`):
# a STRESS_KILL_BUILDS-build scan killed with SIGKILL at STRESS_KILLS random
# moments, each followed by a rerun; the final archive must equal an
# uninterrupted scan's byte for byte (TestKill9AtRandomPoints: 3 kills, corpus).
STRESS_N  ?= 5000
STRESS_KILLS ?= 10
STRESS_KILL_BUILDS ?= 2000
stress: build corpus
	$(GO) run ./corpus/cmd/campaign -tomscan '$(BIN)' -corpus '$(CORPUS)' -n $(STRESS_N) -max-rss-mb 2248 \
	  -kill-points $(STRESS_KILLS) -kill-builds $(STRESS_KILL_BUILDS)

stress-kill: build corpus
	$(GO) run ./corpus/cmd/campaign -tomscan '$(BIN)' -corpus '$(CORPUS)' -n 0 -kill-points $(STRESS_KILLS) -kill-builds $(STRESS_KILL_BUILDS)

bench: setup corpus
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The archive index page at 10,000 builds, without the race detector (make
# test checks 1,000 under -race): size < 5 MB, filter works in Chromium,
# load time printed and benchmarked (target < 2 s); screenshots in test-artifacts/.
bench-pages: setup
	TOMSCAN_ARTIFACTS='$(CURDIR)/test-artifacts' $(GO) test -count=1 -v -run 'TestBigIndexInChromium' -bench 'BenchmarkBigIndexLoad' -benchtime 3x ./reports/archive

# tomscan against the analyst's pipeline (bench/peer/peer.sh) and the tools it
# calls, interleaved runs, medians; prints each issue-16 target PASS or MISS.
# Long (tens of minutes): BENCH_N=1 BENCH_LARGE_MB=64 BENCH_RSS=100,1000 for a
# quick look, BENCH_ONLY=e2e-synthetic,jobs for some sections.
BENCH_N        ?= 3
BENCH_LARGE_MB ?= 1024
BENCH_RSS      ?= 100,1000,10000
BENCH_ONLY     ?=
bench-e2e: build corpus corpus-real
	nice $(GO) run ./bench/e2e -tomscan '$(BIN)' -corpus '$(CORPUS)' -real '$(REAL)' -keyword-lists '$(KEYWORDS)' \
	  -n $(BENCH_N) -large-mb $(BENCH_LARGE_MB) -rss-builds '$(BENCH_RSS)' -only '$(BENCH_ONLY)'

clean:
	rm -rf bin '$(DEMO_OUT)' '$(CORPUS)'

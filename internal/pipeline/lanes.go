package pipeline

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/rules"
)

// A build's nodes are found one at a time, in the depth-first order the
// engine walks the tree: identifying a node, deciding that it repeats an
// earlier one, charging the build's budget and unpacking it all depend on
// what came before, so the walk stays sequential. What does not (the string
// listing and the YARA scan of a node, most of a node's cost) runs in lanes
// beside the walk: the walk hands a node's bytes to a free lane and goes on
// unpacking, so a container's children are analysed in parallel.
//
// Reports stay byte-identical to a sequential scan, whatever the number of
// lanes and whichever lane finishes first:
//   - a lane writes only the node's Strings and Matches (which nothing in
//     the walk reads) and keeps its issues aside;
//   - the TOM analysers, whose findings depend on the order they see nodes
//     in (first keyword-list windows, first candidate blobs), visit nodes in
//     the walk's order: the walk commits pending nodes oldest first;
//   - a node's set-aside issues go back at the place a sequential scan
//     would have put them (after the PE stages' issues, before the
//     unpacker's) once the build's walk is over.
//
// With a node cache, the recorder (replay.go) is told of each node when it
// is committed, so it too sees the walk's order.
//
// Memory: a pending node holds its bytes until the TOM analysers have seen
// it. Besides the oldest pending node (the one a sequential scan would be
// holding), pending nodes hold at most laneBytes; past that the walk waits
// for the oldest to finish.

// laneCount is how many lanes besides the walk's goroutine a worker runs:
// one per CPU the Go runtime uses, the walk being one of them. Tests set it.
var laneCount = func() int { return min(runtime.GOMAXPROCS(0)-1, 8) }

// pendingVisit is a node whose string and YARA stages were handed to a lane
// (or run by the walk itself when no lane was free) and that the TOM
// analysers have not seen yet.
type pendingVisit struct {
	ctx       context.Context
	n, parent *artifact.Node
	data      []byte
	at        int            // where in n.Issues the set-aside issues go
	ruleAt    int            // where in aside the rule stages' issues begin (after the strings stage's)
	aside     artifact.Node  // collects the issues of the lane's stages (only Issues is used)
	done      chan struct{}  // closed once a lane or the walk ran the stages; nil when the walk ran them at once
	scanner   *rules.Scanner // the lane's scanner, for the stages
}

// lanes is one worker's set of lanes and the current build's pending nodes.
type lanes struct {
	free     chan *rules.Scanner // one token per idle lane, carrying its own YARA scanner (nil without rules)
	busy     atomic.Int32        // lanes running now; the walk starts another only below the build's laneLimit
	scanners []*rules.Scanner
	maxBytes int64

	queue []*pendingVisit // not committed yet, in walk order
	held  int64           // bytes of queue[1:]
	// backlog holds the nodes of queue whose stages no one has started:
	// handed to the lanes when none was free. A lane takes the oldest
	// when it is done with its job; the walk takes one back when it must
	// commit it, and takes the newest while it waits for a lane.
	mu      sync.Mutex
	backlog []*pendingVisit
	visited []*pendingVisit // committed this build, in walk order: their issues go back at the end
}

// newLanes makes n lanes, each with its own scanner when there are rules
// (a libyara scanner is not safe for concurrent use).
func newLanes(cfg Config, n int) (*lanes, error) {
	l := &lanes{free: make(chan *rules.Scanner, n), maxBytes: max(cfg.Limits.InMemoryBytes, 1<<20)}
	for range n {
		var s *rules.Scanner
		if cfg.Rules != nil {
			var err error
			if s, err = cfg.Rules.NewScanner(scanTimeout); err != nil {
				l.close()
				return nil, err
			}
			l.scanners = append(l.scanners, s)
		}
		l.free <- s
	}
	return l, nil
}

func (l *lanes) close() {
	for _, s := range l.scanners {
		s.Close()
	}
	l.scanners = nil
}

// visitLater runs the rule-independent string stage and the rule stages of
// n: in a free lane, in the backlog of the busy lanes, or here when the
// build has no lanes. The TOM stage runs when the node is committed, in
// walk order. With one lane, handing a node only to a lane that is free
// left the lane idle while the walk ran, itself, the stages of the next
// node, which it could not hand over: the walk did two thirds of a large
// build's work.
func (a *analyzer) visitLater(ctx context.Context, n, parent *artifact.Node, data []byte) {
	l := a.lanes
	p := &pendingVisit{ctx: ctx, n: n, parent: parent, data: data, at: len(n.Issues)}
	a.commitDone(false)
	for len(l.queue) > 0 && l.held+int64(len(data)) > l.maxBytes {
		a.commitOldest()
	}
	p.done = make(chan struct{})
	switch {
	case a.goLane(func(s *rules.Scanner) { a.runPending(p, s) }, p.done):
	case a.laneLimit > 0 && l.busy.Load() > 0:
		l.mu.Lock()
		l.backlog = append(l.backlog, p)
		l.mu.Unlock()
		// A lane that was freed meanwhile finds it there.
		a.goLane(func(*rules.Scanner) {}, nil)
	default:
		p.done, p.scanner = nil, a.scanner
		a.laneStages(p)
	}
	if len(l.queue) > 0 {
		l.held += int64(len(data))
	}
	l.queue = append(l.queue, p)
	a.commitDone(false)
}

// TryGo runs f in a free lane when the build may use one (unpack.Spare):
// the engine hashes nodes' MD5 and SHA-1 there, beside the walk.
func (a *analyzer) TryGo(f func()) bool {
	return a.goLane(func(*rules.Scanner) { f() }, nil)
}

// goLane runs f with a free lane's scanner on a goroutine of its own when
// the build may use one more lane, and returns whether it did. The lane
// then runs the backlog's nodes, oldest first, until it is empty. done
// (when set) is closed once f is done; the last done of a lane's run (f's,
// or its last backlog node's) once the lane is free again, so that a walk
// that has waited for every pending node finds its lanes free.
func (a *analyzer) goLane(f func(*rules.Scanner), done chan struct{}) bool {
	l := a.lanes
	if l == nil || l.busy.Load() >= int32(a.laneLimit) {
		return false
	}
	select {
	case s := <-l.free:
		l.busy.Add(1)
		go func() {
			ran := done
			f(s) // the stages recover their own panics (stage)
			for {
				l.mu.Lock()
				if len(l.backlog) == 0 {
					l.busy.Add(-1)
					l.free <- s
					l.mu.Unlock()
					if ran != nil {
						close(ran)
					}
					return
				}
				next := l.backlog[0]
				l.backlog[0] = nil
				l.backlog = l.backlog[1:]
				l.mu.Unlock()
				if ran != nil {
					close(ran)
				}
				ran = next.done
				a.runPending(next, s)
			}
		}()
		return true
	default:
		return false
	}
}

// runPending runs p's lane stages with scanner s.
func (a *analyzer) runPending(p *pendingVisit, s *rules.Scanner) {
	p.scanner = s
	a.laneStages(p)
}

// takeBack removes p from the backlog, or, when p is nil, its newest node,
// and returns the node removed (nil: not there, a lane has it).
func (l *lanes) takeBack(p *pendingVisit) *pendingVisit {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.backlog) == 0 {
		return nil
	}
	if p == nil {
		last := len(l.backlog) - 1
		p = l.backlog[last]
		l.backlog[last] = nil
		l.backlog = l.backlog[:last]
		return p
	}
	if i := slices.Index(l.backlog, p); i >= 0 {
		l.backlog = slices.Delete(l.backlog, i, i+1)
		return p
	}
	return nil
}

// runHere runs a node taken back from the backlog on the walk.
func (a *analyzer) runHere(p *pendingVisit) {
	a.runPending(p, a.scanner)
	close(p.done)
}

// closed tells whether ch is closed, without waiting.
func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// laneStages are the stages a lane runs: strings, then YARA. They write
// n.Strings, n.Matches and p.aside only.
func (a *analyzer) laneStages(p *pendingVisit) {
	n, data := p.n, p.data
	stage(&p.aside, "strings", func() { a.stringsStage(p.ctx, n, data) })
	p.ruleAt = len(p.aside.Issues)
	stage(&p.aside, "yara", func() { a.yaraStage(p.ctx, p.scanner, n, p.parent, data, &p.aside) })
}

// commitDone commits the oldest pending nodes as long as their lanes are
// done; with wait, it waits for them all.
func (a *analyzer) commitDone(wait bool) {
	l := a.lanes
	for len(l.queue) > 0 {
		p := l.queue[0]
		if !wait && p.done != nil {
			select {
			case <-p.done:
			default:
				return
			}
		}
		a.commitOldest()
	}
}

// commitOldest waits for the oldest pending node's lane and shows the node
// to the TOM analysers. A node no lane has started is run here; while a
// lane runs it, the walk runs the backlog's newest nodes.
func (a *analyzer) commitOldest() {
	l := a.lanes
	p := l.queue[0]
	if p.done != nil {
		if l.takeBack(p) != nil {
			a.runHere(p)
		}
		for !closed(p.done) {
			q := l.takeBack(nil)
			if q == nil {
				<-p.done
				break
			}
			a.runHere(q)
		}
	}
	l.queue[0] = nil
	l.queue = l.queue[1:]
	if len(l.queue) > 0 {
		l.held -= int64(len(l.queue[0].data))
	}
	stage(&p.aside, "tom", func() {
		if a.tom != nil {
			a.tom.Visit(p.ctx, p.n, p.data)
		}
	})
	if a.rec != nil {
		// The node cache's recorder sees nodes in walk order too, with
		// the place the rule stages' issues will have once put back.
		a.rec.visited(p.n, p.parent, p.at+p.ruleAt, len(p.aside.Issues)-p.ruleAt, p.data)
	}
	p.data = nil // the bytes are free once the TOM analysers have seen them
	l.visited = append(l.visited, p)
}

// finishLanes waits for every pending node, commits them in walk order and
// puts the issues set aside back in their nodes. It must run before
// anything reads the tree's strings, matches or issues as a whole.
func (a *analyzer) finishLanes() {
	l := a.lanes
	if l == nil {
		return
	}
	a.commitDone(true)
	for _, p := range l.visited {
		if len(p.aside.Issues) > 0 {
			p.n.Issues = slices.Insert(p.n.Issues, p.at, p.aside.Issues...)
		}
	}
	l.visited, l.held = nil, 0
}

// laneBudget shares the cores (Config.Cores, by default one per job) among
// the builds in flight: a build gets, when a job takes it, the cores that
// neither the busy jobs (a walk and its lanes each) nor the builds still
// waiting for an idle job will use, less the one its walk runs on. So with
// --jobs 1 a scan uses one core, and with --jobs N a build has lanes only
// when fewer than N builds are left (the last builds of a batch, or one
// large input alone): --jobs N scales by running builds side by side, and
// no build crowds the cores another job is using.
type laneBudget struct {
	mu          sync.Mutex
	jobs, cores int
	waiting     int // builds no job has taken yet
	busy        int // jobs scanning a build
	used        int // cores those builds were given (walks and lanes)
}

func newLaneBudget(jobs, cores, builds int) *laneBudget {
	if cores < 1 {
		cores = jobs
	}
	return &laneBudget{jobs: jobs, cores: cores, waiting: builds}
}

// take is called when a job takes its next build: it returns the lanes the
// build may use, to be handed back to done.
func (b *laneBudget) take() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting--
	starting := min(b.jobs-1-b.busy, b.waiting) // idle jobs that will take a waiting build
	lanes := max(0, b.cores-b.used-max(starting, 0)-1)
	b.busy++
	b.used += 1 + lanes
	return lanes
}

// ahead reserves a build for a job that is busy with another, to be sent
// to its worker now and started when that one ends (isolated.run); begin
// starts it, unahead gives the reservation back. Only while every other
// job still has a waiting build to take (at the end of a batch no job
// idles while another holds two), and only when cores are one per job (the
// default): the build would then get no lanes when it starts, whatever the
// other jobs are doing (each is busy, or will start a waiting build), so
// none need be given when it is sent.
func (b *laneBudget) ahead() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waiting < b.jobs || b.cores > b.jobs {
		return false
	}
	b.waiting--
	return true
}

// unahead gives back a reservation ahead made and no build came for.
func (b *laneBudget) unahead() {
	b.mu.Lock()
	b.waiting++
	b.mu.Unlock()
}

// begin starts a build reserved with ahead: it has no lanes (returned, to
// be handed back to done as take's are).
func (b *laneBudget) begin() int {
	b.mu.Lock()
	b.busy++
	b.used++
	b.mu.Unlock()
	return 0
}

// done is called when a job has finished the build it was given lanes for.
func (b *laneBudget) done(lanes int) {
	b.mu.Lock()
	b.busy--
	b.used -= 1 + lanes
	b.mu.Unlock()
}

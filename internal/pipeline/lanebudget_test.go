package pipeline

import "testing"

// TestLaneBudget: a build gets lanes only from cores no other job will use:
// with one job none; with N jobs none while N or more builds are left, and
// the idle jobs' cores once fewer are.
func TestLaneBudget(t *testing.T) {
	type step struct {
		take bool // take a build (else: the oldest busy build finishes)
		want int  // lanes the taken build gets
	}
	cases := []struct {
		name                string
		jobs, cores, builds int
		steps               []step
	}{
		{"one job, one build", 1, 0, 1, []step{{true, 0}}},
		{"one job, more cores asked", 1, 4, 2, []step{{true, 3}, {false, 0}, {true, 3}}},
		{"two jobs, one build", 2, 0, 1, []step{{true, 1}}},
		{"two jobs, many builds", 2, 0, 4, []step{
			{true, 0}, {true, 0}, // both jobs busy, builds waiting
			{false, 0}, {true, 0}, // the other job is still busy
			{false, 0}, {true, 0}, // the last build: the other job is busy
			{false, 0}, {false, 0},
		}},
		{"two jobs, the last build alone", 2, 0, 3, []step{
			{true, 0}, {true, 0}, {false, 0}, {false, 0},
			{true, 1}, // nothing else in flight or waiting
		}},
		{"four jobs, two builds", 4, 0, 2, []step{{true, 2}, {true, 0}}}, // the first keeps a core for the second
		{"four jobs, the last three builds", 4, 0, 5, []step{
			{true, 0}, {true, 0}, {true, 0}, {true, 0},
			{false, 0}, {true, 0}, // one waiting build left for no idle job: three busy, one core left for the walk
			{false, 0}, {false, 0}, {false, 0}, {false, 0},
		}},
		{"four jobs, one build", 4, 0, 1, []step{{true, 3}}},
	}
	for _, c := range cases {
		b := newLaneBudget(c.jobs, c.cores, c.builds)
		var given []int // lanes of the builds in flight, oldest first
		for i, s := range c.steps {
			if !s.take {
				b.done(given[0])
				given = given[1:]
				continue
			}
			got := b.take()
			if got != s.want {
				t.Errorf("%s: step %d: %d lanes, want %d", c.name, i, got, s.want)
			}
			given = append(given, got)
			if b.used > max(b.cores, b.busy) {
				t.Errorf("%s: step %d: %d cores given out of %d", c.name, i, b.used, b.cores)
			}
		}
	}
}

// TestLaneBudgetAhead: a busy job takes a build ahead only while every
// other job still has one waiting, never when cores outnumber jobs (it
// would start without the lanes it might get), and such a build starts
// with no lanes.
func TestLaneBudgetAhead(t *testing.T) {
	b := newLaneBudget(2, 0, 5)
	b.take()
	b.take() // both jobs busy, 3 waiting
	if !b.ahead() {
		t.Fatal("3 waiting for 1 other job: no build ahead")
	}
	if !b.ahead() {
		t.Fatal("2 waiting for 1 other job: no build ahead")
	}
	if b.ahead() {
		t.Fatal("1 waiting: taken ahead, though the other job would then idle at its end")
	}
	b.unahead()
	if b.waiting != 2 {
		t.Fatalf("after unahead %d waiting, want 2", b.waiting)
	}
	b.done(0)
	if got := b.begin(); got != 0 || b.busy != 2 || b.used != 2 {
		t.Fatalf("begin: %d lanes, busy %d, used %d; want 0, 2, 2", got, b.busy, b.used)
	}
	if c := newLaneBudget(1, 4, 10); c.take() != 3 || c.ahead() {
		t.Fatal("one job on four cores: a build taken ahead would start without its lanes")
	}
	if c := newLaneBudget(1, 0, 3); c.take() != 0 || !c.ahead() {
		t.Fatal("one job, one core, builds waiting: none taken ahead")
	}
}

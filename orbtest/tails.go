package orbtest

import "sync"

// tails counts the ends of a VM's commands still going on in the background
// (backend.ExecRequest.Tails). Unlike a sync.WaitGroup it may be added to
// while someone waits: a command a stray goroutine runs during the test's
// cleanup is waited for too, never a panic. Safe for concurrent use.
type tails struct {
	mu   sync.Mutex
	n    int
	zero *sync.Cond
}

// Add adds delta to the count.
func (t *tails) Add(delta int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n += delta
	if t.n == 0 && t.zero != nil {
		t.zero.Broadcast()
	}
}

// Done subtracts one.
func (t *tails) Done() { t.Add(-1) }

// Wait returns once the count is zero.
func (t *tails) Wait() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.zero == nil {
		t.zero = sync.NewCond(&t.mu)
	}
	for t.n > 0 {
		t.zero.Wait()
	}
}

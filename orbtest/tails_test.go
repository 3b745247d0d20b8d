package orbtest

import (
	"sync"
	"testing"
	"time"
)

func TestTailsWait(t *testing.T) {
	var tl tails
	tl.Wait() // nothing to wait for

	tl.Add(1)
	done := make(chan struct{})
	go func() { tl.Wait(); close(done) }()
	select {
	case <-done:
		t.Fatal("Wait returned with a tail still going")
	case <-time.After(20 * time.Millisecond):
	}
	tl.Done()
	<-done
}

// TestTailsAddWhileWaiting: tails added while another goroutine waits are
// waited for too, without a panic (a sync.WaitGroup's misuse).
func TestTailsAddWhileWaiting(t *testing.T) {
	var tl tails
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				tl.Add(1)
				go tl.Done()
			}
		}()
	}
	for range 200 {
		tl.Wait()
	}
	wg.Wait()
	tl.Wait()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.n != 0 {
		t.Fatalf("count %d after every tail ended", tl.n)
	}
}

package runstate

import (
	"context"
	"fmt"
	"time"
)

// AcquireSlot takes one of the run's n slots, a semaphore that every
// process of the run shares: slot i is an flock on SlotPath(i), so a slot
// whose holder dies is free again. It polls until a slot is free or ctx
// ends, calling waiting once when it first has to wait. The caller
// releases the slot with Unlock.
func (r *Run) AcquireSlot(ctx context.Context, n int, waiting func()) (*Lock, error) {
	delay := 5 * time.Millisecond
	for first := true; ; first = false {
		for i := range max(n, 1) {
			lk, err := TryLock(r.SlotPath(i))
			if err != nil {
				return nil, err
			}
			if lk != nil {
				return lk, nil
			}
		}
		if first && waiting != nil {
			waiting()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a create slot: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

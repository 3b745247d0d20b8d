package orbtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitForAfterTheTestChangesTheMachine(t *testing.T) {
	d := newMemDriver()
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	require.NoError(t, err)
	defer vm.Delete(context.Background())
	attempts := 0
	restarted := NewCheck("service restarted", func(context.Context, *VM) error {
		attempts++
		if attempts < 3 {
			return errors.New("still starting")
		}
		return nil
	})
	require.NoError(t, vm.WaitFor(t.Context(), restarted))
	assert.Equal(t, 3, attempts)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	never := NewCheck("never", func(context.Context, *VM) error { return errors.New("nope") })
	err = vm.WaitFor(ctx, never)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "last check saw: nope")
}

func TestTimeoutReportsTheLastCompleteAttempt(t *testing.T) {
	d := newMemDriver()
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	require.NoError(t, err)
	defer vm.Delete(context.Background())
	attempt := 0
	slow := NewCheck("slow", func(ctx context.Context, _ *VM) error {
		attempt++
		if attempt == 1 {
			return errors.New("nothing listens on port 9")
		}
		<-ctx.Done() // this attempt is cut short by the deadline
		return ctx.Err()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err = vm.WaitFor(ctx, slow)
	assert.ErrorContains(t, err, "last check saw: nothing listens on port 9")
}

func TestListeningParsesProcNetTCP(t *testing.T) {
	const procNet = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0
`
	assert.True(t, listening(procNet, 8080), "0x1F90 listening on 0.0.0.0")
	assert.True(t, listening(procNet, 53), "listening on loopback")
	assert.True(t, listening(procNet, 22), "listening on ::")
	assert.False(t, listening(procNet, 50000), "an established connection is not a listener")
	assert.False(t, listening(procNet, 80))
	assert.False(t, listening("", 80))
}

func TestAllAndAny(t *testing.T) {
	pass := NewCheck("pass", func(context.Context, *VM) error { return nil })
	notYet := NewCheck("not-yet", func(context.Context, *VM) error { return assert.AnError })
	never := NewCheck("never", func(context.Context, *VM) error { return Permanent(assert.AnError) })
	ctx := t.Context()

	assert.NoError(t, All(pass, pass).fn(ctx, nil))
	err := All(pass, notYet).fn(ctx, nil)
	assert.ErrorContains(t, err, "not-yet: ")
	assert.False(t, isPermanent(err))
	assert.True(t, isPermanent(All(never, pass).fn(ctx, nil)))
	assert.Equal(t, "pass and not-yet", All(pass, notYet).String())

	assert.NoError(t, Any(notYet, pass).fn(ctx, nil))
	assert.False(t, isPermanent(Any(notYet, never).fn(ctx, nil)), "one check may still pass")
	assert.True(t, isPermanent(Any(never, never).fn(ctx, nil)))
	assert.Equal(t, "pass or never", Any(pass, never).String())
}

func TestCheckMaxInterval(t *testing.T) {
	for _, tc := range []struct {
		check Check
		want  time.Duration
	}{
		{hasAddress(), addressEvery},
		{Running(), waitMax},
		{CommandSucceeds("true"), waitMax},
		{PortReachable(80), waitMax},
		{NewCheck("custom", func(context.Context, *VM) error { return nil }), waitMax},
	} {
		if got := tc.check.maxInterval(); got != tc.want {
			t.Errorf("%s: max interval %s, want %s", tc.check, got, tc.want)
		}
	}
}

package orbtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// Check is a readiness check: it reports whether a machine is ready for the
// test. A check function returns nil when the machine is ready, an error
// describing what it saw when it is not ready yet, and an error wrapped by
// [Permanent] when waiting longer cannot help. Checks are immutable values;
// combine them with [All] and [Any] and pass them to [WithReady].
type Check struct {
	name string
	fn   func(ctx context.Context, vm *VM) error
	// every bounds the interval between attempts (0: waitMax).
	every time.Duration
}

// NewCheck returns a Check named name (used in logs and errors) that calls
// fn. fn must honour ctx and close what it opens.
func NewCheck(name string, fn func(ctx context.Context, vm *VM) error) Check {
	return Check{name: name, fn: fn}
}

// String returns the check's name.
func (c Check) String() string { return c.name }

// Permanent marks err as final: a check that returns it stops the wait at
// once, and the machine fails with err.
func Permanent(err error) error { return backoff.Permanent(err) }

// Running passes once the backend reports the machine running.
func Running() Check {
	return NewCheck("running", func(ctx context.Context, vm *VM) error {
		m, err := vm.driver.Inspect(ctx, vm.name)
		if err != nil {
			return err
		}
		if m.State != backend.StateRunning {
			return fmt.Errorf("state is %s", m.State)
		}
		return nil
	})
}

// hasAddress passes once the backend reports an address for the machine.
// It is polled at least every addressEvery: nothing announces the guest's
// DHCP lease, and every machine waits for it.
func hasAddress() Check {
	c := NewCheck("has an address", func(ctx context.Context, vm *VM) error {
		_, err := vm.lookupAddress(ctx)
		return err
	})
	c.every = addressEvery
	return c
}

// CommandSucceeds passes once the command exits 0 in the machine. It runs
// as the default user.
func CommandSucceeds(name string, args ...string) Check {
	c := Command(name, args...)
	return NewCheck("command "+c.String()+" succeeds", func(ctx context.Context, vm *VM) error {
		_, err := vm.exec(ctx, c)
		return err
	})
}

// SystemdRunning passes once systemd reports the system running or
// degraded (booted, with some unit failed). It fails at once on a machine
// without systemd.
func SystemdRunning() Check {
	return NewCheck("systemd running", func(ctx context.Context, vm *VM) error {
		res, err := vm.exec(ctx, Command("systemctl", "is-system-running").AsUser("root"))
		state := strings.TrimSpace(res.orEmpty().Stdout)
		switch {
		case state == "running" || state == "degraded":
			return nil
		case res != nil && res.ExitCode == 127, state == "offline":
			return Permanent(fmt.Errorf("machine has no systemd (is-system-running: %q)", state))
		case err != nil && state == "":
			return err
		}
		return fmt.Errorf("systemd is %s", state)
	})
}

// CloudInitDone passes once cloud-init has finished. A cloud-init that
// finished with an error fails the machine, with cloud-init's own report.
// [NewVM] adds this check by itself when the spec has cloud-init user data.
func CloudInitDone() Check {
	return NewCheck("cloud-init done", func(ctx context.Context, vm *VM) error {
		res, err := vm.exec(ctx, Command("cloud-init", "status", "--long").AsUser("root"))
		out := res.orEmpty().Stdout
		status := ""
		for line := range strings.Lines(out) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "status:"); ok {
				status = strings.TrimSpace(v)
				break
			}
		}
		switch {
		case status == "done":
			return nil
		case status == "error" || status == "degraded":
			return Permanent(fmt.Errorf("cloud-init failed: %s", strings.TrimSpace(out+" "+res.orEmpty().Stderr)))
		case res != nil && res.ExitCode == 127:
			return Permanent(errors.New("cloud-init is not installed in the machine"))
		case err != nil && status == "":
			return err
		}
		return fmt.Errorf("cloud-init status is %q", status)
	})
}

// FileExists passes once path exists in the machine.
func FileExists(path string) Check {
	return NewCheck("file "+path+" exists", func(ctx context.Context, vm *VM) error {
		_, err := vm.exec(ctx, Command("test", "-e", path).AsUser("root"))
		return err
	})
}

// PortListening passes once a TCP socket listens on port inside the
// machine, on any address. It reads /proc/net/tcp and /proc/net/tcp6, so it
// needs no tool in the machine.
func PortListening(port int) Check {
	return NewCheck(fmt.Sprintf("port %d listening", port), func(ctx context.Context, vm *VM) error {
		res, err := vm.exec(ctx, Command("cat", "/proc/net/tcp", "/proc/net/tcp6"))
		if res == nil {
			return err
		}
		if listening(res.Stdout, port) {
			return nil
		}
		return fmt.Errorf("nothing listens on port %d", port)
	})
}

// listening reports whether /proc/net/tcp text has a socket in LISTEN
// state (0A) on port.
func listening(procNetTCP string, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(strings.NewReader(procNetTCP))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
			return true
		}
	}
	return false
}

// PortReachable passes once a TCP connection from the host to port at the
// machine's [VM.Address] succeeds. Each attempt's dial is bounded by 3s.
func PortReachable(port int) Check {
	return NewCheck(fmt.Sprintf("port %d reachable from the host", port), func(ctx context.Context, vm *VM) error {
		addr, err := vm.lookupAddress(ctx)
		if err != nil {
			return err
		}
		d := net.Dialer{Timeout: dialTimeout}
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	})
}

// All passes once every check passes, checked in order.
func All(checks ...Check) Check {
	return NewCheck(joinNames(checks, " and "), func(ctx context.Context, vm *VM) error {
		for _, c := range checks {
			if err := c.fn(ctx, vm); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
		return nil
	})
}

// Any passes once one of the checks passes. It fails permanently only when
// every check has.
func Any(checks ...Check) Check {
	return NewCheck(joinNames(checks, " or "), func(ctx context.Context, vm *VM) error {
		var errs []error
		permanent := 0
		for _, c := range checks {
			err := c.fn(ctx, vm)
			if err == nil {
				return nil
			}
			var p *backoff.PermanentError
			if errors.As(err, &p) {
				permanent++
				err = p.Err // another check may still pass
			}
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
		err := errors.Join(errs...)
		if permanent == len(checks) && len(checks) > 0 {
			return Permanent(err)
		}
		return err
	})
}

func joinNames(checks []Check, sep string) string {
	names := make([]string, len(checks))
	for i, c := range checks {
		names[i] = c.name
	}
	return strings.Join(names, sep)
}

func isPermanent(err error) bool {
	var p *backoff.PermanentError
	return errors.As(err, &p)
}

// Backoff policy of readiness waits: start small so a machine that is ready
// is noticed within tens of milliseconds, grow with jitter, and cap the
// interval so a slow machine is still polled every second.
// dialTimeout bounds one PortReachable dial. It outlasts TCP's first SYN
// retransmission (1s after the first SYN), so one lost SYN or reset on a
// busy host delays an attempt instead of making it report a timeout.
const dialTimeout = 3 * time.Second

const (
	waitInitial    = 20 * time.Millisecond
	waitMax        = time.Second
	addressEvery   = 100 * time.Millisecond // hasAddress's longest interval
	waitAttemptMax = 30 * time.Second       // one check attempt
	aliveEvery     = time.Second            // how often a failing wait asks whether the machine died
)

// waitFor polls c until it passes, fails permanently, or ctx ends. When ctx
// ends, the error gives the number of attempts and what the last complete
// one saw; an attempt the deadline cut short counts for neither. Between
// failed attempts it asks the backend, at most once a second, whether the
// machine is still there and running, and stops at once when it is not.
func (vm *VM) waitFor(ctx context.Context, c Check) error {
	b := backoff.WithContext(backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(waitInitial),
		backoff.WithRandomizationFactor(0.3),
		backoff.WithMultiplier(1.6),
		backoff.WithMaxInterval(c.maxInterval()),
		backoff.WithMaxElapsedTime(0), // ctx is the only clock
	), ctx)
	var last error
	var lastAlive time.Time
	attempts := 0
	start := time.Now()
	err := backoff.Retry(func() error {
		attempts++
		actx, cancel := context.WithTimeout(ctx, waitAttemptMax)
		err := c.fn(actx, vm)
		cancel()
		if err == nil || isPermanent(err) {
			return err
		}
		if ctx.Err() == nil || last == nil {
			last = err
		} else {
			attempts-- // the deadline cut it short: it saw nothing new
		}
		if time.Since(lastAlive) >= aliveEvery {
			lastAlive = time.Now()
			if dead := vm.dead(ctx); dead != nil {
				return Permanent(dead)
			}
		}
		return err
	}, b)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && last != nil {
		return fmt.Errorf("%s: not ready after %s (%d attempts): %w; last check saw: %w",
			c.name, time.Since(start).Round(time.Millisecond), attempts, ctx.Err(), last)
	}
	return fmt.Errorf("%s: %w", c.name, err)
}

// maxInterval is the longest wait between two attempts of c.
func (c Check) maxInterval() time.Duration {
	if c.every > 0 {
		return c.every
	}
	return waitMax
}

// dead returns an error when the machine is gone or stopped.
func (vm *VM) dead(ctx context.Context) error {
	m, err := vm.driver.Inspect(ctx, vm.name)
	switch {
	case errors.Is(err, backend.ErrNotFound):
		return fmt.Errorf("machine is gone: %w", err)
	case err != nil:
		return nil // cannot tell; keep waiting
	case m.State == backend.StateStopped, m.State == backend.StateStopping, m.State == backend.StateDeleting:
		return fmt.Errorf("machine is %s%s", m.State, vm.consoleTail(ctx))
	}
	return nil
}

// consoleTailLines is how much of the console log a stopped machine's
// error quotes.
const consoleTailLines = 8

// consoleTail returns the end of the machine's console log, formatted to
// follow an error message, or "" when the backend keeps none.
func (vm *VM) consoleTail(ctx context.Context) string {
	cl, ok := vm.driver.(backend.ConsoleLogger)
	if !ok {
		return ""
	}
	out, err := cl.ConsoleLog(ctx, vm.name)
	if err != nil {
		return ""
	}
	var lines []string
	for line := range strings.Lines(out) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	lines = lines[max(0, len(lines)-consoleTailLines):]
	return "; the end of its console log:\n\t" + strings.Join(lines, "\n\t")
}

// WaitFor waits until every check passes, in order, polling each with the
// same backoff as readiness, until ctx ends. Use it after the test itself
// changes the machine: an install, a service restart, a reboot.
func (vm *VM) WaitFor(ctx context.Context, checks ...Check) error {
	for _, ch := range checks {
		if err := vm.waitFor(ctx, ch); err != nil {
			return vm.errorf("%w", err)
		}
	}
	return nil
}

// MustWaitFor is like [VM.WaitFor] but fails the test when a check does not
// pass within timeout.
func (vm *VM) MustWaitFor(t testing.TB, timeout time.Duration, checks ...Check) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	if err := vm.WaitFor(ctx, checks...); err != nil {
		t.Fatal(err)
	}
}

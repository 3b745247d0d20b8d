package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// Guarded is one user command to run through the guard (see [GuardArgv]).
type Guarded struct {
	// Command returns the host argv (the tool's path first) that runs the
	// guest argv in the machine as the command's user, in the machine's /,
	// with stdin attached; Root the one that runs it as root, in /,
	// without stdin.
	Command, Root func(guest []string) ([]string, error)
	Env           []string // added to the host tool's environment
	Dir           string   // absolute working directory in the machine
	Home          bool     // Dir is the user's home: stay in / when it is missing
	Argv          []string
	Stdin         io.Reader // nil: the command reads /dev/null
	Stdout        io.Writer // receive the streams as they come; may be nil
	Stderr        io.Writer
	Limit         int // bytes of the client's own streams to keep for errors
	// Tails, when set, lets RunGuarded return once the command's end and
	// both streams are in, and release the guard and reap the client in
	// the background, counted in Tails (see [backend.ExecRequest]).
	Tails backend.Tails
}

// Outcome is how a guarded command ended.
type Outcome struct {
	// Ran is set when the guard reported the command's end; Status is then
	// its exit status.
	Ran    bool
	Status int
	// Client is the host tool's own result, for classifying a failure of
	// the tool when the guard never ran.
	Client cmdrun.Result
}

// ErrIncomplete is wrapped by the error of a command whose output did not
// all reach the host.
var ErrIncomplete = errors.New("output incomplete")

// release bounds how long the host waits for the tool to exit after the
// guard was told to go, and how long a root call (kill, ack) may take.
const (
	releaseWait = 2 * time.Second
	rootTimeout = 10 * time.Second
	startWait   = time.Second
)

// RunGuarded runs g and waits for it. The error is nil when the guard
// reported the command's end (Ran) with the whole of both streams; it is
// the tool's error, with Ran false, when the guard never ran (the driver
// classifies it); it wraps [ErrIncomplete] when the guard ran but a
// stream's end never arrived; it wraps [backend.ErrInvalid] and names the
// directory when Dir cannot be entered; and when ctx ends it wraps
// ctx.Err() after the command's process group was ended in the machine
// (TERM, then KILL after [KillGrace]). Nothing is retried. With g.Tails
// set it returns as soon as it has the end record of both streams; the
// release of the guard and the client's exit follow in the background.
func RunGuarded(ctx context.Context, g Guarded) (Outcome, error) {
	token := GuardToken()
	args, err := g.Command(GuardArgv(token, g.Dir, g.Home, g.Stdin != nil, g.Argv))
	if err != nil {
		return Outcome{Status: -1}, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return Outcome{Status: -1}, fmt.Errorf("stdin pipe: %w", err)
	}
	var closeOnce sync.Once
	closeStdin := func() { closeOnce.Do(func() { pw.Close() }) }
	// detached is set when the release is left to a background tail, which
	// then owns stdin and the client.
	detached := false
	defer func() {
		if !detached {
			closeStdin()
		}
	}()

	var (
		mu       sync.Mutex
		start    Start
		started  = make(chan struct{})
		statuses []string
		bothEnds = make(chan struct{})
	)
	onStart := func(s Start) {
		mu.Lock()
		defer mu.Unlock()
		if start.PID == 0 {
			start = s
			close(started)
		}
	}
	onEnd := func(status string) {
		mu.Lock()
		defer mu.Unlock()
		statuses = append(statuses, status)
		if len(statuses) == 2 {
			close(bothEnds)
		}
	}
	out := newDemux(token, g.Stdout, onStart, onEnd)
	errs := newDemux(token, g.Stderr, onStart, onEnd)

	if g.Stdin != nil {
		go func() {
			_, _ = io.Copy(pw, g.Stdin)
			closeStdin()
		}()
	}
	clientCtx, cancelClient := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if !detached {
			cancelClient()
		}
	}()
	type result struct {
		res cmdrun.Result
		err error
	}
	done := make(chan result, 1)
	t0 := time.Now()
	go func() {
		res, err := cmdrun.Run(clientCtx, cmdrun.Cmd{
			Args: args, Env: g.Env, Stdin: pr, Stdout: out, Stderr: errs,
			Limit: g.Limit, WaitDelay: releaseWait,
		})
		pr.Close()
		done <- result{res, err}
	}()

	root := func(argv []string) {
		rargs, err := g.Root(argv)
		if err != nil {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rootTimeout)
		defer cancel()
		_, _ = cmdrun.Run(rctx, cmdrun.Cmd{Args: rargs, Env: g.Env, Limit: 4096})
	}
	// wait returns the tool's result, stopping it after releaseWait.
	wait := func() result {
		select {
		case r := <-done:
			return r
		case <-time.After(releaseWait):
			cancelClient()
			return <-done
		}
	}

	// release lets the guard go once the host has both end records: USR1
	// from a second call in stdin mode, the end of its stdin otherwise;
	// then it waits for the client.
	release := func() result {
		if g.Stdin != nil {
			mu.Lock()
			s := start
			mu.Unlock()
			if s.Guard > 0 {
				root(AckArgv(s))
			}
		}
		closeStdin()
		return wait()
	}

	var r result
	select {
	case r = <-done:
	case <-bothEnds:
		if g.Tails == nil {
			r = release()
			break
		}
		// Everything the caller gets is in; the tail needs nothing of it.
		detached = true
		g.Tails.Add(1)
		go func() {
			defer g.Tails.Done()
			defer cancelClient()
			release()
		}()
	case <-ctx.Done():
		select {
		case <-started:
		case <-bothEnds:
		case <-done:
		case <-time.After(startWait):
		}
		mu.Lock()
		s := start
		mu.Unlock()
		note := ""
		if s.PID > 0 {
			root(KillArgv(s, g.Stdin != nil))
		} else {
			note = " (it had not reported its start: it may still run)"
		}
		closeStdin()
		wait()
		return Outcome{Status: -1}, fmt.Errorf("ended in the machine after %s%s: %w", time.Since(t0).Round(time.Millisecond), note, ctx.Err())
	}

	mu.Lock()
	ends := append([]string(nil), statuses...)
	mu.Unlock()
	o := Outcome{Status: -1, Client: r.res}
	switch {
	case len(ends) == 0 && !out.sawAny() && !errs.sawAny():
		if r.err == nil {
			// The tool exited 0 without the guard's records.
			return o, fmt.Errorf("%w: the guard reported nothing (tool exited 0)", ErrIncomplete)
		}
		return o, r.err
	case len(ends) < 2:
		missing := "stdout"
		if out.ended {
			missing = "stderr"
		} else if !errs.ended {
			missing = "stdout and stderr"
		}
		err := fmt.Errorf("%w: %s ended before the command's end was reported (tool exited %d)", ErrIncomplete, missing, r.res.ExitCode)
		if r.err != nil {
			err = fmt.Errorf("%w: %w", err, r.err)
		}
		return o, err
	}
	if err := out.err; err != nil {
		return o, fmt.Errorf("stdout: %w", err)
	}
	if err := errs.err; err != nil {
		return o, fmt.Errorf("stderr: %w", err)
	}
	switch ends[0] {
	case "nodir":
		return o, fmt.Errorf("working directory %q does not exist in the machine: %w", g.Dir, backend.ErrInvalid)
	case "noaccess":
		return o, fmt.Errorf("working directory %q cannot be entered by the user: %w", g.Dir, backend.ErrInvalid)
	}
	status, err := strconv.Atoi(ends[0])
	if err != nil || ends[1] != ends[0] {
		return o, fmt.Errorf("guard reported statuses %q: %w", ends, ErrIncomplete)
	}
	o.Ran, o.Status = true, status
	return o, nil
}

// Package exectest holds the tests of a driver's Exec that every backend
// must pass, run by each driver's own tests against a machine it made:
// cancel ends every process of the command in the machine, output arrives
// whole and as it comes. The functions are safe to call from parallel
// tests on different machines. Buffer is the buffer a command writes
// while a test reads it.
package exectest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// CancelCases are the commands Cancel stops, by reason; %s is a word that
// appears in the command line of every process the command starts.
var CancelCases = []struct {
	Reason string
	Script string
	Stdin  bool
}{
	{"a plain sleep", `exec sleep %s`, false},
	{"a command that ignores TERM", `trap '' TERM; sleep %s; sleep %[1]s`, false},
	{"background children", `sleep %s & sleep %[1]s & (sleep %[1]s; true) & wait`, false},
	{"stdin that never ends", `cat >/dev/null; sleep %s`, true},
}

// Cancel runs each of CancelCases in machine name with a deadline and
// checks that Exec returns an error wrapping context.DeadlineExceeded
// within 1.5 s of it and that no process of the command remains in the
// machine.
func Cancel(t *testing.T, d backend.Driver, name string) {
	for _, c := range CancelCases {
		t.Run(c.Reason, func(t *testing.T) {
			word := fmt.Sprintf("1001.%06d", rand.IntN(1000000))
			req := backend.ExecRequest{Argv: []string{"sh", "-c", fmt.Sprintf(c.Script, word)}}
			if c.Stdin {
				r, w := io.Pipe()
				defer w.Close()
				req.Stdin = r
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			_, err := d.Exec(ctx, name, req)
			dl, _ := ctx.Deadline()
			late := time.Since(dl)
			t.Logf("Exec returned %v after the deadline: %v", late.Round(time.Millisecond), err)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want one wrapping context.DeadlineExceeded", err)
			}
			if late > 1500*time.Millisecond {
				t.Errorf("Exec returned %v after the deadline, want at most 1.5s", late)
			}
			if n := Procs(t, d, name, word); n != 0 {
				t.Errorf("%d processes of the command remain in the machine", n)
			}
		})
	}
}

// Procs counts the processes in machine name whose command line holds
// word (a literal with a '.'), from /proc, as root.
func Procs(t *testing.T, d backend.Driver, name, word string) int {
	t.Helper()
	// The pattern does not match the counting commands' own lines.
	pat := strings.Replace(word, ".", "[.]", 1)
	var out bytes.Buffer
	code, err := d.Exec(t.Context(), name, backend.ExecRequest{
		Argv: []string{"sh", "-c", `grep -l -a -e "$1" /proc/[0-9]*/cmdline 2>/dev/null | wc -l`, "count", pat},
		User: "root", Stdout: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("counting processes: exit %d, %v", code, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("counting processes: %q", out.String())
	}
	return n
}

// Streaming checks that the first line of a command that prints, waits
// 3 s and prints again reaches the writer before the command ends.
func Streaming(t *testing.T, d backend.Driver, name string) {
	start := time.Now()
	w := &firstWrite{start: start}
	code, err := d.Exec(t.Context(), name, backend.ExecRequest{
		Argv: []string{"sh", "-c", "echo a; sleep 3; echo b"}, Stdout: w,
	})
	end := time.Since(start)
	if err != nil || code != 0 {
		t.Fatalf("exit %d, %v", code, err)
	}
	first := w.at()
	t.Logf("first line after %v, end after %v", first.Round(time.Millisecond), end.Round(time.Millisecond))
	if w.String() != "a\nb\n" {
		t.Errorf("output %q, want %q", w.String(), "a\nb\n")
	}
	if first <= 0 || first > end-2*time.Second {
		t.Errorf("the first line arrived %v after the start, the command ended after %v", first, end)
	}
}

type firstWrite struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	start time.Time
	first time.Duration
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.first == 0 && len(p) > 0 {
		f.first = time.Since(f.start)
	}
	return f.buf.Write(p)
}

func (f *firstWrite) at() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first
}

func (f *firstWrite) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.String()
}

// Stress runs n commands in machine name, 4 at a time, while the host's
// CPUs are kept busy; each writes a size from 0 bytes to 1 MiB to stdout
// and to stderr (one in ten reads it from stdin), and each stream is
// checked byte for byte. Half the commands let Exec return before their
// guard's release (ExecRequest.Tails), as commands of a VM do. It returns
// how many were checked.
func Stress(t *testing.T, d backend.Driver, name string, n int) int {
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	for range burners {
		go func() {
			// Busy three quarters of the time, so the machine's own work
			// still gets through on a host of few CPUs.
			for ctx.Err() == nil {
				for t0 := time.Now(); time.Since(t0) < 3*time.Millisecond; {
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	var (
		next, checked atomic.Int64
		wg, tails     sync.WaitGroup
		failures      atomic.Int64
	)
	start := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= n && failures.Load() < 5; i = int(next.Add(1)) {
				if err := stressOne(ctx, d, name, i, &tails); err != nil {
					failures.Add(1)
					t.Errorf("command %d: %v", i, err)
					continue
				}
				checked.Add(1)
			}
		}()
	}
	wg.Wait()
	tails.Wait()
	t.Logf("%d commands checked byte for byte in %v, %d failed", checked.Load(), time.Since(start).Round(time.Millisecond), failures.Load())
	return int(checked.Load())
}

// burners is how many goroutines keep the host's CPUs busy during Stress.
var burners = runtime.NumCPU()

// stressSize is a size from 0 to 1 MiB, mostly small.
func stressSize(r *rand.Rand) int {
	switch k := r.IntN(20); {
	case k == 0:
		return 0
	case k == 1:
		return 1 << 20
	case k < 4:
		return r.IntN(1 << 20)
	default:
		return r.IntN(4096)
	}
}

func stressOne(ctx context.Context, d backend.Driver, name string, i int, tails *sync.WaitGroup) error {
	r := rand.New(rand.NewPCG(uint64(i), 9))
	no, ne := stressSize(r), stressSize(r)
	seed := fmt.Sprintf("%d-%x", i, r.Uint32())
	wantOut := repeat(seed+"\n", no)
	wantErr := repeat(seed+"-e\n", ne)
	script := `yes "$1" | head -c "$2"; yes "$1-e" | head -c "$3" >&2`
	req := backend.ExecRequest{Argv: []string{"sh", "-c", script, "stress", seed, strconv.Itoa(no), strconv.Itoa(ne)}}
	if i%10 == 0 {
		script = `cat; yes "$1-e" | head -c "$3" >&2`
		req.Argv[2] = script
		req.Stdin = strings.NewReader(wantOut)
	}
	if i%4 < 2 {
		req.Tails = tails
	}
	var out, errb bytes.Buffer
	req.Stdout, req.Stderr = &out, &errb
	code, err := d.Exec(ctx, name, req)
	switch {
	case err != nil:
		return err
	case code != 0:
		return fmt.Errorf("exit %d, stderr tail %q", code, tail(errb.String()))
	case out.String() != wantOut:
		return fmt.Errorf("stdout: %d bytes, want %d (tail %q)", out.Len(), len(wantOut), tail(out.String()))
	case errb.String() != wantErr:
		return fmt.Errorf("stderr: %d bytes, want %d (tail %q)", errb.Len(), len(wantErr), tail(errb.String()))
	}
	return nil
}

func repeat(line string, n int) string {
	return strings.Repeat(line, n/len(line)+1)[:n]
}

func tail(s string) string {
	if len(s) > 64 {
		return s[len(s)-64:]
	}
	return s
}

package fakeorbctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvBin names a prebuilt fake binary; when it is set, Build returns it
// instead of compiling.
const EnvBin = "FAKEORBCTL_BIN"

const pkgPath = "github.com/orbtest/go-orbtest/internal/fakeorbctl/cmd/orbctl"

var built struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the fake orbctl once per test process and returns the path
// of the binary, named orbctl, alone in its directory (so that directory can
// go first on PATH). The directory lives under os.TempDir and is named after
// the process; Build removes the directories of processes that are gone.
// If $FAKEORBCTL_BIN is set, Build returns it without compiling.
func Build(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(EnvBin); p != "" {
		return p
	}
	built.once.Do(func() { built.path, built.err = buildBinary() })
	if built.err != nil {
		tb.Fatalf("fakeorbctl: %v", built.err)
	}
	return built.path
}

const buildDirPrefix = "fakeorbctl-build-"

func buildBinary() (string, error) {
	sweepBuildDirs()
	dir, err := os.MkdirTemp("", buildDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "orbctl")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	goTool := "go"
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" && isExecutable(p) {
		goTool = p
	}
	cmd := exec.Command(goTool, "build", "-o", bin, pkgPath)
	if _, file, _, ok := runtime.Caller(0); ok {
		if _, err := os.Stat(filepath.Dir(file)); err == nil {
			cmd.Dir = filepath.Dir(file) // inside the module, whatever the caller's cwd
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build %s: %v\n%s", pkgPath, err, out)
	}
	return bin, nil
}

// sweepBuildDirs removes build directories left by processes that have exited.
func sweepBuildDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), buildDirPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), buildDirPrefix)
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.RemoveAll(m)
	}
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || !errors.Is(err, os.ErrProcessDone)
}

// Fake is one fake OrbStack installation: a state directory and the
// configuration (environment variables) its orbctl runs with.
type Fake struct {
	Bin string // the orbctl binary
	Dir string // the state directory, $FAKEORBCTL_STATE

	mu  sync.Mutex
	env map[string]string
}

// Option configures a Fake.
type Option func(*Fake)

// WithEnv sets one of the FAKEORBCTL_* variables (or any other) for every
// command the Fake runs, e.g. WithEnv(EnvVersion, "2.0.5").
func WithEnv(key, value string) Option {
	return func(f *Fake) { f.env[key] = value }
}

// New builds the binary (once per process) and gives the test a fresh state
// directory under tb.TempDir.
func New(tb testing.TB, opts ...Option) *Fake {
	tb.Helper()
	f := &Fake{Bin: Build(tb), Dir: filepath.Join(tb.TempDir(), "orbstate"), env: map[string]string{}}
	if err := (&store{dir: f.Dir}).init(); err != nil {
		tb.Fatalf("fakeorbctl: %v", err)
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Set changes a variable for the commands run from now on; an empty value
// removes it.
func (f *Fake) Set(key, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if value == "" {
		delete(f.env, key)
	} else {
		f.env[key] = value
	}
}

// Env returns the variables that point orbctl at this Fake:
// FAKEORBCTL_STATE and every variable set with WithEnv or Set, sorted.
func (f *Fake) Env() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []string{EnvState + "=" + f.Dir}
	var rest []string
	for k, v := range f.env {
		if k != EnvState {
			rest = append(rest, k+"="+v)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// Environ is the full environment for running the fake: the process
// environment without its FAKEORBCTL_* variables, then Env, with the
// binary's directory first on PATH.
func (f *Fake) Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FAKEORBCTL_") && !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	out = append(out, "PATH="+f.pathVar())
	return append(out, f.Env()...)
}

func (f *Fake) pathVar() string {
	return filepath.Dir(f.Bin) + string(os.PathListSeparator) + os.Getenv("PATH")
}

// Setenv sets Env's variables with tb.Setenv and puts the binary first on
// PATH, so code that runs "orbctl" by name finds the fake. Like tb.Setenv it
// cannot be used in parallel tests.
func (f *Fake) Setenv(tb testing.TB) {
	tb.Helper()
	for _, kv := range f.Env() {
		k, v, _ := strings.Cut(kv, "=")
		tb.Setenv(k, v)
	}
	tb.Setenv("PATH", f.pathVar())
}

// Command returns an exec.Cmd that runs the fake with args and Environ.
func (f *Fake) Command(args ...string) *exec.Cmd {
	return f.CommandContext(context.Background(), args...)
}

// CommandContext is Command with a context.
func (f *Fake) CommandContext(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, f.Bin, args...)
	cmd.Env = f.Environ()
	return cmd
}

func (f *Fake) store() *store { return &store{dir: f.Dir} }

// Machines returns the names of the machines that exist, sorted.
func (f *Fake) Machines() []string {
	rs, _ := f.store().records()
	names := []string{}
	for _, r := range rs {
		names = append(names, r.Name)
	}
	return names
}

// Machine returns a machine's record.
func (f *Fake) Machine(name string) (Record, bool) {
	r, err := f.store().readRecord(name)
	if err != nil {
		return Record{}, false
	}
	return *r, true
}

// Root returns the directory that holds a machine's file system.
func (f *Fake) Root(name string) string { return f.store().rootDir(name) }

// Status returns OrbStack's state as the fake sees it: "running",
// "starting" or "stopped".
func (f *Fake) Status() string {
	if b, err := os.ReadFile(filepath.Join(f.Dir, "vmstatus")); err == nil {
		return strings.TrimSpace(string(b))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.env[EnvStatus]; st == "stopped" || st == "starting" {
		return st
	}
	return "running"
}

// Calls returns every invocation so far, oldest first.
func (f *Fake) Calls() []Call {
	file, err := os.Open(filepath.Join(f.Dir, "calls.log"))
	if err != nil {
		return nil
	}
	defer file.Close()
	var calls []Call
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var c Call
		if json.Unmarshal(sc.Bytes(), &c) == nil {
			calls = append(calls, c)
		}
	}
	return calls
}

// CountCalls counts the invocations whose first argument is subcommand
// (exactly: aliases count separately).
func (f *Fake) CountCalls(subcommand string) int {
	n := 0
	for _, c := range f.Calls() {
		if len(c.Argv) > 0 && c.Argv[0] == subcommand {
			n++
		}
	}
	return n
}

// WaitMachine polls until the machine exists in the given state or the
// timeout passes, and reports whether it got there.
func (f *Fake) WaitMachine(name, state string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if r, ok := f.Machine(name); ok && r.State == state {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/exectest"
	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// The tests of orbtest exec run go test -exec with the built orbtest
// command on the fake orbctl, whose machines run commands on the host:
// testdata/execpkg is the package under test.

var buildOrbtest = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "orbtest-exec-test")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "orbtest")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
})

// execScene is a fake OrbStack, a copy of testdata/execpkg and the built
// orbtest command.
type execScene struct {
	f        *fakeorbctl.Fake
	state    string
	pkg      string // the package's directory
	orbtest  string
	extraEnv []string
	runs     []string // the run IDs given to go commands, whose reapers the test waits for
}

func newExecScene(t *testing.T, opts ...fakeorbctl.Option) *execScene {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping test: builds and runs go test -exec")
	}
	bin, err := buildOrbtest()
	require.NoError(t, err)
	s := &execScene{f: fakeorbctl.New(t, opts...), state: t.TempDir(), orbtest: bin}
	s.pkg = filepath.Join(t.TempDir(), "execpkg")
	require.NoError(t, os.CopyFS(s.pkg, os.DirFS(filepath.Join("testdata", "execpkg"))))
	t.Cleanup(func() { s.waitRunsOver(t) })
	return s
}

// environ is the environment a go command runs with: the host's without
// its ORBTEST_* variables, the fake's, orbtest's pointing at it, and a run
// ID of its own (unless extraEnv names one), noted to wait for its reaper.
func (s *execScene) environ() []string {
	var env []string
	for _, kv := range s.f.Environ() {
		if !strings.HasPrefix(kv, "ORBTEST_") && !strings.HasPrefix(kv, "GOFLAGS=") {
			env = append(env, kv)
		}
	}
	// The state directory is the test's temporary one: the cache is off,
	// or its entries would outlive it.
	env = append(env, "ORBTEST_BACKEND=orbstack", "ORBTEST_ORBCTL="+s.f.Bin, "ORBTEST_STATE_DIR="+s.state, "ORBTEST_CACHE=off", "GOOS=linux", "GOFLAGS=-count=1")
	if !slices.ContainsFunc(s.extraEnv, func(kv string) bool { return strings.HasPrefix(kv, "ORBTEST_RUN_ID=") }) {
		id := fmt.Sprintf("x%07x", len(s.runs)+1)
		s.runs = append(s.runs, id)
		env = append(env, "ORBTEST_RUN_ID="+id)
	}
	return append(env, s.extraEnv...)
}

// goTest runs go test -exec "orbtest exec" with args in dir (the package's
// when ""), and returns its exit code and combined output.
func (s *execScene) goTest(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	if dir == "" {
		dir = s.pkg
	}
	cmd := exec.Command("go", append([]string{"test", "-exec", s.orbtest + " exec"}, args...)...)
	cmd.Dir, cmd.Env = dir, s.environ()
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		var xe *exec.ExitError
		require.ErrorAs(t, err, &xe, "go test: %s", out)
		code = xe.ExitCode()
	}
	t.Logf("go test -exec %s -> %d\n%s", strings.Join(args, " "), code, out)
	return code, string(out)
}

// waitNoMachines waits for the runs' reapers, which delete a run's
// machines once its go command has exited.
func (s *execScene) waitNoMachines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(s.f.Machines()) > 0 {
		if time.Now().After(deadline) {
			t.Errorf("machines left 30s after go test exited: %v", s.f.Machines())
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRunsOver waits until no machine is left and the reaper of every run
// the test started has logged its end in reaped.log, its last write in the
// state directory, which the test's TempDir then removes.
func (s *execScene) waitRunsOver(t *testing.T) {
	t.Helper()
	s.waitNoMachines(t)
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range s.runs {
		for {
			b, _ := os.ReadFile(runstate.ReapedLog(s.state))
			if strings.Contains(string(b), "run "+id+":") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("run %s: its reaper logged no end in 30s:\n%s", id, b)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// events reads go test -json output as (Action, Test, Output) with times
// and durations blanked, and lines that name the run's own paths dropped.
func events(t *testing.T, out string) []string {
	t.Helper()
	times := regexp.MustCompile(`\d+\.\d+s`)
	var evs []string
	for line := range strings.Lines(out) {
		var e struct{ Action, Test, Output string }
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		evs = append(evs, e.Action+" "+e.Test+" "+times.ReplaceAllString(e.Output, "T"))
	}
	return evs
}

func TestExecJSONIsANativeRunsInStructure(t *testing.T) {
	s := newExecScene(t)
	code, out := s.goTest(t, "", "-json", "-v", ".")
	require.Equal(t, 0, code, out)
	native := exec.Command("go", "test", "-count=1", "-json", "-v", ".")
	native.Dir = s.pkg
	nout, err := native.Output()
	require.NoError(t, err, "%s", nout)
	assert.Equal(t, events(t, string(nout)), events(t, out))
	assert.Contains(t, out, `"Action":"skip","Package":"example.com/execpkg","Test":"TestSub/b"`)
	assert.Contains(t, out, "greeted")

	// The package directory and the binary went in with one tar, into a
	// path that names the package; the binary ran there.
	var runs []string
	for _, c := range s.f.Calls() {
		if len(c.Argv) > 0 && c.Argv[0] == "run" {
			runs = append(runs, strings.Join(c.Argv, " "))
		}
	}
	require.NotEmpty(t, runs)
	assert.True(t, slices.ContainsFunc(runs, func(r string) bool {
		return strings.Contains(r, `tar -xf - -C "$1" sh tmp/orbtest-go`)
	}), "unpack call in %q", runs)
	assert.True(t, slices.ContainsFunc(runs, func(r string) bool {
		return strings.Contains(r, "./tmp/orbtest-go/src/example.com/execpkg ../../../bin/execpkg.test -test.paniconexit0")
	}), "the binary runs in the package's copy: %q", runs)
}

func TestExecFailingTestExits1WithItsMessage(t *testing.T) {
	s := newExecScene(t)
	s.extraEnv = []string{"ORBTEST_EXEC_FLAGS=-env EXECPKG_FAIL=1"}
	code, out := s.goTest(t, "", "-run", "TestFails", ".")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "boom: the failure message")
	assert.Contains(t, out, "--- FAIL: TestFails")
	assert.Regexp(t, `(?m)^FAIL\texample.com/execpkg`, out)
	assert.NotContains(t, out, "not the tests")
}

func TestExecPanicAndTimeoutComeBackAsGoTestExpects(t *testing.T) {
	s := newExecScene(t)
	s.extraEnv = []string{"ORBTEST_EXEC_FLAGS=-env EXECPKG_PANIC=1"}
	code, out := s.goTest(t, "", "-run", "TestPanics", ".")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "panic: kaboom in the guest")
	assert.Contains(t, out, "--- FAIL: TestPanics")
	assert.Regexp(t, `(?m)^FAIL\texample.com/execpkg`, out)

	s.extraEnv = []string{"ORBTEST_EXEC_FLAGS=-env EXECPKG_SLEEP=1"}
	code, out = s.goTest(t, "", "-run", "TestSleeps", "-timeout", "2s", ".")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "panic: test timed out after 2s")
	assert.Contains(t, out, "TestSleeps")
}

func TestExecCoverageAndProfilesComeBack(t *testing.T) {
	s := newExecScene(t)
	code, out := s.goTest(t, "", "-coverprofile=c.out", "-cpuprofile=cpu.out", "-trace=trace.out", ".")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "coverage: 66.7% of statements")
	coverFunc := exec.Command("go", "tool", "cover", "-func=c.out")
	coverFunc.Dir = s.pkg // where the package's sources are found
	cover, err := coverFunc.CombinedOutput()
	require.NoError(t, err, "%s", cover)
	assert.Regexp(t, `execpkg/pkg.go:\d+:\s+Greeting\s+66.7%`, string(cover))
	for _, f := range []string{"cpu.out", "trace.out"} {
		fi, err := os.Stat(filepath.Join(s.pkg, f))
		if assert.NoError(t, err, f) {
			assert.NotZero(t, fi.Size(), f)
		}
	}
}

func TestExecArtifactsComeBackUnderTheOutputDirectory(t *testing.T) {
	s := newExecScene(t)
	out := t.TempDir()
	code, log := s.goTest(t, "", "-artifacts", "-outputdir", out, "-run", "TestArtifact", ".")
	require.Equal(t, 0, code, log)
	var found []string
	require.NoError(t, filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "note.txt" {
			found = append(found, p)
		}
		return err
	}))
	require.Len(t, found, 1, "note.txt under %s", out)
	assert.Contains(t, found[0], filepath.Join(out, "_artifacts"))
	b, err := os.ReadFile(found[0])
	require.NoError(t, err)
	assert.Equal(t, "artifact of the guest\n", string(b))
}

func TestExecPassesOnlyGoTestsAndNamedVariables(t *testing.T) {
	s := newExecScene(t)
	s.extraEnv = []string{"EXECPKG_HOSTONLY=leak", "EXECPKG_PASSED=yes", "EXECPKG_ENVCHECK=1",
		"ORBTEST_EXEC_FLAGS=-env EXECPKG_PASSED -env EXECPKG_ENVCHECK"}
	code, out := s.goTest(t, "", "-run", "TestEnv", "-v", ".")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "--- PASS: TestEnv")
}

func TestExecArchFollowsTheBinary(t *testing.T) {
	s := newExecScene(t, fakeorbctl.WithEnv(fakeorbctl.EnvNativeArch, "amd64"))
	s.extraEnv = []string{"GOARCH=arm64"}
	code, out := s.goTest(t, "", "-run", "TestGreeting", ".")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "the machine failed, not the tests")
	assert.Contains(t, out, "arm64")
	assert.Empty(t, s.f.Machines(), "nothing was created")
}

func TestExecBadFlagsFailBeforeAnyMachine(t *testing.T) {
	s := newExecScene(t)
	s.extraEnv = []string{"ORBTEST_EXEC_FLAGS=-distro nope -user 'bad user'"}
	code, out := s.goTest(t, "", ".")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, `unknown distro "nope"`)
	assert.Contains(t, out, "-user:")
	assert.Zero(t, s.f.CountCalls("create"))
	_, err := os.Stat(runstate.RunDir(s.state, s.runs[0]))
	assert.ErrorIs(t, err, os.ErrNotExist, "no run was opened")
	s.runs = nil // and no reaper started
}

func TestExecInterruptLeavesNoGuestProcessAndNoMachine(t *testing.T) {
	s := newExecScene(t)
	pidfile := filepath.Join(t.TempDir(), "pid")
	s.extraEnv = []string{"EXECPKG_PIDFILE=" + pidfile, "ORBTEST_EXEC_FLAGS=-env EXECPKG_SLEEP=1 -env EXECPKG_PIDFILE"}
	cmd := exec.Command("go", "test", "-exec", s.orbtest+" exec", "-run", "TestSleeps", ".")
	cmd.Dir, cmd.Env = s.pkg, s.environ()
	var out exectest.Buffer // read while the go command writes it
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's Ctrl-C goes to the group
	require.NoError(t, cmd.Start())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var pid int
	for pid == 0 && ctx.Err() == nil {
		b, _ := os.ReadFile(pidfile)
		pid, _ = strconv.Atoi(string(b))
		time.Sleep(20 * time.Millisecond)
	}
	require.NotZero(t, pid, "the test never started:\n%s", out.String())
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT))
	err := cmd.Wait()
	t.Logf("go test: %v\n%s", err, out.String())
	assert.Error(t, err)
	assert.Error(t, syscall.Kill(pid, 0), "the test process %d in the machine is gone", pid)
	s.waitNoMachines(t)
}

func TestExecTenPackagesShareAtMostMaxVMs(t *testing.T) {
	s := newExecScene(t)
	mod := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/ten\n\ngo 1.26\n"), 0o644))
	for i := range 10 {
		dir := filepath.Join(mod, "p"+strconv.Itoa(i))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		src := "package p\n\nimport \"testing\"\n\nfunc TestP(t *testing.T) {}\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "p_test.go"), []byte(src), 0o644))
	}
	s.extraEnv = []string{"ORBTEST_MAX_VMS=2"}
	code, out := s.goTest(t, mod, "-p", "4", "./...")
	require.Equal(t, 0, code, out)
	assert.Equal(t, 10, strings.Count(out, "ok  \texample.com/ten/p"))
	used := map[string]bool{}
	runs := map[string]bool{}
	for _, c := range s.f.Calls() {
		for i, a := range c.Argv {
			if (a == "-m" || a == "--machine") && i+1 < len(c.Argv) && !naming.IsTemplate(c.Argv[i+1]) {
				used[c.Argv[i+1]] = true
				runs[naming.RunOf(c.Argv[i+1])] = true
			}
		}
	}
	assert.LessOrEqual(t, len(used), 2, "machines used: %v", used)
	assert.NotEmpty(t, used)
	assert.Len(t, runs, 1, "one go command is one run: %v", runs)
}

// TestExecHandsTheResetToAReleaser: orbtest exec returns without waiting
// for the machine's reset; a releaser of its own holds the lease until the
// machine is idle again, and the next package gets it.
func TestExecHandsTheResetToAReleaser(t *testing.T) {
	s := newExecScene(t)
	s.extraEnv = []string{"ORBTEST_RUN_ID=handoff1", "ORBTEST_RUN_OWNER=" + strconv.Itoa(os.Getpid())}
	for range 2 {
		code, out := s.goTest(t, "", "-run", "TestGreeting", ".")
		require.Equal(t, 0, code, out)
	}
	logPath := filepath.Join(s.state, "runs", "handoff1", "leases.log")
	var events [][]string
	deadline := time.Now().Add(30 * time.Second)
	for len(events) < 6 && time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		events = nil
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) == 4 && !naming.IsTemplate(f[2]) {
				events = append(events, f[1:])
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Len(t, events, 6, "%v", events)
	for i, want := range []string{"acquire", "handoff", "release", "acquire", "handoff", "release"} {
		assert.Equal(t, want, events[i][0], "event %d: %v", i, events)
		assert.Equal(t, events[0][1], events[i][1], "one machine: %v", events)
	}
	assert.Equal(t, events[0][2], events[1][2], "the exec process hands off")
	assert.NotEqual(t, events[1][2], events[2][2], "another process resets: %v", events)
	assert.NotEqual(t, events[3][2], events[0][2])
	for _, m := range s.f.Machines() { // this process owns the run: no reaper deletes them while it lives
		require.NoError(t, s.f.Command("delete", "-f", m).Run())
	}
}

package integration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/exectest"
	"github.com/orbtest/go-orbtest/orbtest"
)

// The go test -exec "orbtest exec" tests run the built command on the
// real backend, on ../cmd/orbtest/testdata/execpkg (a module of its own),
// each go command a run of its own with the ID the test gives it.

var buildOrbtest = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "orbtest-integration")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "orbtest")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/orbtest").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

// goExec runs go test -exec "orbtest exec", each go command a run of its
// own: a run ID names one go command's machines, which its reaper deletes
// when that command exits.
type goExec struct {
	orbtest, pkg string
	run          string   // the run of the latest go command
	runs         []string // every run started
	env          []string
}

func newGoExec(t *testing.T) *goExec {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping test: needs a backend")
	}
	orbtest.SkipIfUnavailable(t)
	bin, err := buildOrbtest()
	require.NoError(t, err)
	g := &goExec{orbtest: bin, pkg: filepath.Join(t.TempDir(), "execpkg")}
	require.NoError(t, os.CopyFS(g.pkg, os.DirFS("../cmd/orbtest/testdata/execpkg")))
	t.Cleanup(func() {
		for _, r := range g.runs {
			waitRunGone(t, r)
		}
	})
	return g
}

func (g *goExec) cmd(dir string, args ...string) *exec.Cmd {
	g.run = fmt.Sprintf("%08x", uint32(time.Now().UnixNano()))
	g.runs = append(g.runs, g.run)
	cmd := exec.Command("go", append([]string{"test", "-count=1", "-exec", g.orbtest + " exec"}, args...)...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ORBTEST_RUN_") && !strings.HasPrefix(kv, "GOFLAGS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append([]string{"ORBTEST_RUN_ID=" + g.run, "GOOS=linux"}, g.env...)...)
	return cmd
}

func (g *goExec) goTest(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	out, err := g.cmd(dir, args...).CombinedOutput()
	code := 0
	if xe := (*exec.ExitError)(nil); err != nil {
		require.ErrorAs(t, err, &xe, "%s", out)
		code = xe.ExitCode()
	}
	t.Logf("go test -exec %s -> %d\n%s", strings.Join(args, " "), code, out)
	return code, string(out)
}

// runMachines lists the backend's machines of run.
func runMachines(t *testing.T, run string) []string {
	t.Helper()
	var names []string
	if os.Getenv("ORBTEST_BACKEND") == "orbstack" || runtime.GOOS == "darwin" {
		out, err := exec.Command(cliPath("ORBTEST_ORBCTL", "orbctl"), "list", "-f", "json").Output()
		require.NoError(t, err)
		var ms []struct{ Name string }
		require.NoError(t, json.Unmarshal(out, &ms))
		for _, m := range ms {
			names = append(names, m.Name)
		}
	} else {
		out, err := exec.Command(cliPath("ORBTEST_INCUS", "incus"), "list", "-c", "n", "-f", "csv").Output()
		require.NoError(t, err)
		names = strings.Fields(string(out))
	}
	var mine []string
	for _, n := range names {
		if strings.HasPrefix(n, orbtest.NamePrefix+"-"+run+"-") {
			mine = append(mine, n)
		}
	}
	return mine
}

// waitRunGone waits for the run's reaper to delete its machines after its
// go command exited.
func waitRunGone(t *testing.T, run string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for ms := runMachines(t, run); len(ms) > 0; ms = runMachines(t, run) {
		if time.Now().After(deadline) {
			t.Errorf("run %s: machines left 60s after its go command exited: %v", run, ms)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// structure is the (Action, Test) of each test event of go test -json or
// test2json output.
func structure(t *testing.T, out string) []string {
	t.Helper()
	var s []string
	for line := range strings.Lines(out) {
		var e struct{ Action, Test string }
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		if e.Test != "" && e.Action != "output" {
			s = append(s, e.Action+" "+e.Test)
		}
	}
	return s
}

func TestGoExecJSONIsANativeRunInTheMachine(t *testing.T) {
	g := newGoExec(t)
	code, out := g.goTest(t, g.pkg, "-json", "-coverprofile=c.out", ".")
	require.Equal(t, 0, code, out)

	// The same binary run by hand in a machine, through test2json.
	vm := orbtest.NewVM(t, base)
	bin := filepath.Join(t.TempDir(), "execpkg.test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Dir, build.Env = g.pkg, append(os.Environ(), "GOOS=linux")
	b, err := build.CombinedOutput()
	require.NoError(t, err, "%s", b)
	vm.MustRun(t, "mkdir", "-p", "/root/native/testdata")
	vm.MustPush(t, bin, "/root/native/execpkg.test")
	vm.MustPush(t, filepath.Join(g.pkg, "testdata", "hello.txt"), "/root/native/testdata/hello.txt")
	res, err := vm.Exec(t.Context(), orbtest.Command("./execpkg.test", "-test.v=test2json", "-test.paniconexit0").InDir("/root/native").AsUser("root"))
	require.NoError(t, err)
	conv := exec.Command("go", "tool", "test2json", "-t", "-p", "example.com/execpkg")
	conv.Stdin = strings.NewReader(res.Stdout)
	native, err := conv.Output()
	require.NoError(t, err)
	assert.Equal(t, structure(t, string(native)), structure(t, out))
	assert.Contains(t, out, `"Test":"TestReadsTestdata"`)

	cover := exec.Command("go", "tool", "cover", "-func=c.out")
	cover.Dir = g.pkg
	cb, err := cover.CombinedOutput()
	require.NoError(t, err, "%s", cb)
	assert.Regexp(t, `execpkg/pkg.go:\d+:\s+Greeting\s+66.7%`, string(cb))
}

func TestGoExecFailurePanicAndTimeout(t *testing.T) {
	g := newGoExec(t)
	g.env = []string{"ORBTEST_EXEC_FLAGS=-env EXECPKG_FAIL=1 -env EXECPKG_PANIC=1 -env EXECPKG_SLEEP=1"}
	code, out := g.goTest(t, g.pkg, "-run", "TestFails", ".")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "boom: the failure message")
	assert.Contains(t, out, "--- FAIL: TestFails")
	code, out = g.goTest(t, g.pkg, "-run", "TestPanics", ".")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "panic: kaboom in the guest")
	code, out = g.goTest(t, g.pkg, "-run", "TestSleeps", "-timeout", "3s", ".")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "panic: test timed out after 3s")
	assert.NotContains(t, out, "not the tests")
}

func TestGoExecInterruptLeavesNothing(t *testing.T) {
	g := newGoExec(t)
	g.env = []string{"ORBTEST_EXEC_FLAGS=-env EXECPKG_SLEEP=1"}
	cmd := g.cmd(g.pkg, "-run", "TestSleeps", "-v", ".")
	var out exectest.Buffer // read while the go command writes it
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	// The test is running once the machine runs its binary.
	deadline := time.Now().Add(2 * time.Minute)
	running := false
	for !running && time.Now().Before(deadline) {
		for _, m := range runMachines(t, g.run) {
			if strings.HasSuffix(m, "-tpl") {
				continue
			}
			ps, _ := exec.Command(cliPath("ORBTEST_INCUS", "incus"), "exec", m, "--", "pgrep", "-f", "execpkg.test").Output()
			running = running || len(bytes.TrimSpace(ps)) > 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.True(t, running, "the test binary never ran:\n%s", out.String())
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT))
	err := cmd.Wait()
	assert.Error(t, err, "%s", out.String())
	waitRunGone(t, g.run)
}

func TestGoExecTenPackagesShareMaxVMs(t *testing.T) {
	g := newGoExec(t)
	mod := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/ten\n\ngo 1.26\n"), 0o644))
	for i := range 10 {
		dir := filepath.Join(mod, "p"+strconv.Itoa(i))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		src := "package p\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestHost(t *testing.T) {\n\th, _ := os.Hostname()\n\tt.Log(\"machine=\" + h)\n}\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "p_test.go"), []byte(src), 0o644))
	}
	g.env = []string{"ORBTEST_MAX_VMS=2"}
	code, out := g.goTest(t, mod, "-v", "-p", "4", "./...")
	require.Equal(t, 0, code, out)
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`machine=(\S+)`).FindAllStringSubmatch(out, -1) {
		used[m[1]] = true
		assert.True(t, strings.HasPrefix(m[1], orbtest.NamePrefix+"-"+g.run+"-"), "%s is of run %s", m[1], g.run)
	}
	assert.Equal(t, 10, strings.Count(out, "machine="), "every package ran")
	assert.LessOrEqual(t, len(used), 2, "machines: %v", used)
}

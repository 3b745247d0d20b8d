package orbtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// Artifacts.
//
// When a test fails and go test runs with -artifacts, each of its machines
// leaves what explains the failure in t.ArtifactDir() before it is reset or
// deleted: the journal of the boot, the failed units, the console log where
// the backend keeps one, and the commands the test ran.

// maxHistory bounds the commands a VM remembers for its artifacts.
const maxHistory = 1000

// ran is one command the test ran.
type ran struct {
	cmd      string
	code     int // -1 when it could not run
	duration time.Duration
	err      string // why it could not run
}

// note remembers a command the test ran.
func (vm *VM) note(c Cmd, res *Result, err error, d time.Duration) {
	r := ran{cmd: c.String(), code: -1, duration: d}
	if res != nil {
		r.code = res.ExitCode
	}
	var xe *ExitError
	if err != nil && !errors.As(err, &xe) {
		r.err = err.Error()
	}
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if len(vm.history) >= maxHistory {
		vm.history = vm.history[1:]
	}
	vm.history = append(vm.history, r)
}

// commandsReport lists the commands, one a line: "exit 0 in 12ms: CMD", or
// "not run (ERR) after 3ms: CMD".
func commandsReport(rs []ran) string {
	var b strings.Builder
	for _, r := range rs {
		d := r.duration.Round(time.Millisecond)
		if r.err != "" {
			fmt.Fprintf(&b, "not run (%s) after %s: %s\n", r.err, d, r.cmd)
			continue
		}
		fmt.Fprintf(&b, "exit %d in %s: %s\n", r.code, d, r.cmd)
	}
	return b.String()
}

// artifactsFlag reports whether go test runs with -artifacts.
func artifactsFlag() bool {
	f := flag.Lookup("test.artifacts")
	return f != nil && f.Value.String() == "true"
}

// diagnostics are the files a failed test's machine leaves, by name.
func (vm *VM) diagnostics(ctx context.Context) map[string]string {
	out := map[string]string{}
	run := func(file string, argv ...string) {
		res, err := vm.exec(ctx, Command(argv[0], argv[1:]...).AsUser("root"))
		switch {
		case res != nil:
			out[file] = res.Stdout + res.Stderr
		default:
			out[file] = fmt.Sprintf("%s: %v\n", Command(argv[0], argv[1:]...), err)
		}
	}
	run("journal.txt", "journalctl", "--boot", "--no-pager", "--output=short-precise")
	run("failed-units.txt", "systemctl", "status", "--failed", "--no-pager", "--full")
	if cl, ok := vm.driver.(backend.ConsoleLogger); ok {
		if log, err := cl.ConsoleLog(ctx, vm.name); err == nil {
			out["console.log"] = log
		} else {
			out["console.log"] = err.Error() + "\n"
		}
	}
	vm.mu.Lock()
	out["commands.txt"] = commandsReport(vm.history)
	vm.mu.Unlock()
	return out
}

// saveArtifacts writes the machine's diagnostics under dir/NAME and says
// where in the test's log.
func (vm *VM) saveArtifacts(t testing.TB, ctx context.Context) {
	t.Helper()
	dir := filepath.Join(t.ArtifactDir(), vm.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("orbtest: machine %q: save artifacts: %v", vm.name, err)
		return
	}
	files := vm.diagnostics(ctx)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Errorf("orbtest: machine %q: save artifacts: %v", vm.name, err)
			return
		}
	}
	vm.logf("orbtest: machine %s: the test failed; its journal, failed units, console log and commands are in %s", vm.name, dir)
}

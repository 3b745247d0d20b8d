package orbtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/goexec"
)

// GoTest runs the tests of the Go package pkg (an import path or a
// relative pattern such as "./linuxonly", resolved from the test's working
// directory) in vm, for a test that prepares a machine and then runs
// Linux-only tests in it. It builds the package's test binary on the host
// for Linux and the machine's architecture (go test -c, CGO_ENABLED=0),
// and runs it as root as `go test -exec "orbtest exec"` would: in a copy
// of the package directory under /tmp/orbtest-go/src, with args (test
// flags such as "-test.run=^TestX$") after -test.v=test2json. Each guest
// test's output and result ("=== RUN", "--- FAIL: TestX") go to t's log
// as the guest printed them, read through go tool test2json; GoTest fails t
// when a guest test fails or the binary exits non-zero without one, and
// stops t (t.Fatal) when the binary cannot be built or run.
//
// GoTest needs the go command on the host. It runs under t.Context(): the
// binary is ended in the machine when the test ends.
func GoTest(t testing.TB, vm *VM, pkg string, args ...string) {
	t.Helper()
	ctx := t.Context()
	importPath, dir, err := goList(ctx, pkg)
	if err != nil {
		t.Fatalf("orbtest: GoTest %s: %v", pkg, err)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(importPath)+".test")
	if err := goTestBuild(ctx, pkg, bin, goArch(vm.spec.arch)); err != nil {
		t.Fatalf("orbtest: GoTest %s: %v", pkg, err)
	}
	conv := exec.CommandContext(ctx, "go", "tool", "test2json", "-t", "-p", importPath)
	in, err := conv.StdinPipe()
	if err != nil {
		t.Fatalf("orbtest: GoTest %s: %v", pkg, err)
	}
	events, err := conv.StdoutPipe()
	if err != nil {
		t.Fatalf("orbtest: GoTest %s: %v", pkg, err)
	}
	conv.Stderr = t.Output()
	if err := conv.Start(); err != nil {
		t.Fatalf("orbtest: GoTest %s: go tool test2json: %v", pkg, err)
	}
	report := make(chan []string, 1)
	go func() { report <- logEvents(t.Output(), events) }()
	code, runErr := goexec.Run(ctx, rootRunner(vm), goexec.Job{
		Binary: bin, Args: append([]string{"-test.v=test2json"}, args...), HostDir: dir, Stdout: in, Stderr: in,
	})
	in.Close()
	failed := <-report
	convErr := conv.Wait()
	switch {
	case runErr != nil:
		t.Fatalf("orbtest: GoTest %s: %v", pkg, vm.errorf("%w", runErr))
	case convErr != nil:
		t.Fatalf("orbtest: GoTest %s: go tool test2json: %v", pkg, convErr)
	case len(failed) > 0:
		t.Errorf("orbtest: GoTest %s: %d guest test(s) failed in machine %s: %s", pkg, len(failed), vm.name, strings.Join(failed, ", "))
	case code != 0:
		t.Errorf("orbtest: GoTest %s: the test binary exited %d in machine %s", pkg, code, vm.name)
	}
}

// logEvents writes the output of test2json events r to w and returns the
// tests that failed.
func logEvents(w io.Writer, r io.Reader) []string {
	var failed []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e struct{ Action, Test, Output string }
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			fmt.Fprintf(w, "%s\n", sc.Bytes())
			continue
		}
		switch {
		case e.Action == "output":
			io.WriteString(w, e.Output)
		case e.Action == "fail" && e.Test != "":
			failed = append(failed, e.Test)
		}
	}
	_, _ = io.Copy(io.Discard, r)
	return failed
}

// rootRunner runs goexec's commands in vm as root.
func rootRunner(vm *VM) goexec.Runner {
	return func(ctx context.Context, c goexec.Command) (int, error) {
		cmd := Command(c.Argv[0], c.Argv[1:]...).InDir(c.Dir).AsUser("root").WithEnv(c.Env...)
		if c.Stdin != nil {
			cmd = cmd.WithStdin(c.Stdin)
		}
		if c.Stdout != nil {
			cmd = cmd.WithStdout(c.Stdout)
		}
		if c.Stderr != nil {
			cmd = cmd.WithStderr(c.Stderr)
		}
		res, err := vm.exec(ctx, cmd)
		var xe *ExitError
		if errors.As(err, &xe) {
			return xe.Result.ExitCode, nil
		}
		if err != nil {
			return 0, err
		}
		return res.ExitCode, nil
	}
}

// goList returns the import path and directory of package pkg.
func goList(ctx context.Context, pkg string) (importPath, dir string, err error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}", pkg).Output()
	if err != nil {
		return "", "", fmt.Errorf("go list %s: %w%s", pkg, err, stderrOf(err))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 {
		return "", "", fmt.Errorf("%q names %d packages: name one", pkg, len(lines))
	}
	importPath, dir, _ = strings.Cut(lines[0], "\t")
	return importPath, dir, nil
}

// goTestBuild builds the test binary of pkg for linux/arch at bin.
func goTestBuild(ctx context.Context, pkg, bin, arch string) error {
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c %s (GOOS=linux GOARCH=%s): %w: %s", pkg, arch, err, strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("go test -c %s built no binary: the package has no tests", pkg)
	}
	return nil
}

// goArch is GOARCH for a spec's arch ("" is the host's).
func goArch(arch string) string {
	switch arch {
	case "":
		return runtime.GOARCH
	case "i386":
		return "386"
	}
	return arch
}

func stderrOf(err error) string {
	var xe *exec.ExitError
	if errors.As(err, &xe) && len(xe.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(xe.Stderr))
	}
	return ""
}

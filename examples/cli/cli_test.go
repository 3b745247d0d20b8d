package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

const version = "1.2.3"

// The machines the CLI is tested on, set by TestMain: Debian with the
// freshly built binary installed, whose commands run as root, and the same
// whose commands run as the unprivileged user ci, whom WithUser creates
// with a home directory and passwordless sudo. Naming root explicitly
// keeps the tests the same on every backend (on OrbStack the default user
// is named after the Mac user; on Incus it is root).
var asRoot, asCI orbtest.Spec

// TestMain cross-compiles the CLI once for the machines' platform (Linux
// on the host's architecture, which is what the backends run natively)
// and builds the specs around it. WithFile reads the binary when a
// machine's template is built, so the file must outlive every test.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "todo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "todo")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-X main.version="+version, "-o", bin, "./testdata/todo")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build todo: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	base := orbtest.Debian("bookworm").
		WithFile(bin, "/usr/local/bin/todo").
		WithSetup("chmod 0755 /usr/local/bin/todo")
	asRoot = base.WithUser("root")
	asCI = base.WithUser("ci")

	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// todo returns a command that runs the CLI with args.
func todo(args ...string) orbtest.Cmd { return orbtest.Command("todo", args...) }

// mustFail runs c, which must run and exit with status code, and returns
// its result.
func mustFail(t *testing.T, vm *orbtest.VM, c orbtest.Cmd, code int) *orbtest.Result {
	t.Helper()
	res, err := vm.Exec(t.Context(), c)
	var exit *orbtest.ExitError
	require.ErrorAs(t, err, &exit, "%s: want exit status %d", c, code)
	require.Equal(t, code, res.ExitCode, "%s: stderr: %s", c, res.Stderr)
	return res
}

// scratch returns a new empty directory in vm owned by the default user,
// so that parallel subtests on one machine keep their lists apart.
func scratch(t *testing.T, vm *orbtest.VM) string {
	t.Helper()
	dir := strings.TrimSpace(vm.MustRun(t, "mktemp", "-d"))
	require.NotEmpty(t, dir, "mktemp printed no directory")
	return dir
}

// TestCLI runs the same behaviours as root and as an unprivileged user, on
// one pool machine per user: the subtests write, so the machines must be
// reset before another test gets them, which the pool does. The subtests
// run in parallel on their user's machine, which is safe because each works
// in a directory of its own; the machine goes back to the pool when the
// last of them ends.
func TestCLI(t *testing.T) {
	t.Parallel()
	for _, u := range []struct {
		name string
		spec orbtest.Spec
		home string
	}{
		{"root", asRoot, "/root"},
		{"ci", asCI, "/home/ci"},
	} {
		t.Run(u.name, func(t *testing.T) {
			t.Parallel()
			vm := orbtest.NewVM(t, u.spec)

			t.Run("runs as the spec's user", func(t *testing.T) {
				t.Parallel()
				assert.Equal(t, u.name+"\n", vm.MustRun(t, "whoami"))
				assert.Equal(t, u.home+"\n", vm.MustShell(t, "echo $HOME"))
			})

			t.Run("version", func(t *testing.T) {
				t.Parallel()
				out := vm.MustRun(t, "todo", "version")
				assert.Equal(t, fmt.Sprintf("todo %s linux/%s\n", version, runtime.GOARCH), out)
				// A static binary runs on any distro: no dynamic loader.
				res := mustFail(t, vm, orbtest.Command("ldd", "/usr/local/bin/todo"), 1)
				assert.Contains(t, res.Stdout+res.Stderr, "not a dynamic executable")
			})

			t.Run("usage errors exit 2", func(t *testing.T) {
				t.Parallel()
				for _, tc := range []struct {
					args    []string
					wantErr string
				}{
					{nil, "no command"},
					{[]string{"frobnicate"}, `unknown command "frobnicate"`},
					{[]string{"add"}, "nothing to add"},
					{[]string{"done", "first"}, `"first" is not an item number`},
				} {
					res := mustFail(t, vm, todo(tc.args...), 2)
					assert.Empty(t, res.Stdout, "errors go to stderr only")
					assert.Contains(t, res.Stderr, "todo: "+tc.wantErr)
					assert.Contains(t, res.Stderr, "usage: todo add")
				}
			})

			t.Run("default list is in HOME", func(t *testing.T) {
				t.Parallel()
				vm.MustExec(t, todo("add", "buy", "milk"))
				assert.Equal(t, "1. buy milk\n", vm.MustRun(t, "todo", "list"))
				// The list is private to its owner.
				stat := vm.MustRun(t, "stat", "-c", "%U %a", u.home+"/.todo")
				assert.Equal(t, u.name+" 600\n", stat)
			})

			t.Run("items from stdin", func(t *testing.T) {
				t.Parallel()
				list := "TODO_FILE=" + scratch(t, vm) + "/list"
				vm.MustExec(t, todo("add", "-").WithEnv(list).
					WithStdin(strings.NewReader("wash car\n\n  feed cat  \n")))
				out := vm.MustExec(t, todo("list").WithEnv(list)).Stdout
				assert.Equal(t, "1. wash car\n2. feed cat\n", out)
			})

			t.Run("done removes an item", func(t *testing.T) {
				t.Parallel()
				list := "TODO_FILE=" + scratch(t, vm) + "/list"
				for _, item := range []string{"one", "two", "three"} {
					vm.MustExec(t, todo("add", item).WithEnv(list))
				}
				vm.MustExec(t, todo("done", "2").WithEnv(list))
				assert.Equal(t, "1. one\n2. three\n", vm.MustExec(t, todo("list").WithEnv(list)).Stdout)

				// Asking for what is not there is an error, not bad usage.
				res := mustFail(t, vm, todo("done", "5").WithEnv(list), 1)
				assert.Equal(t, "todo: no item 5 (the list has 2)\n", res.Stderr)
			})

			t.Run("relative TODO_FILE is in the working directory", func(t *testing.T) {
				t.Parallel()
				dir := scratch(t, vm)
				vm.MustExec(t, todo("add", "ship it").InDir(dir).WithEnv("TODO_FILE=project.todo"))
				assert.Equal(t, "ship it\n", vm.MustRun(t, "cat", dir+"/project.todo"))
			})

			t.Run("system-wide list needs root", func(t *testing.T) {
				t.Parallel()
				dir := strings.TrimSpace(vm.MustExec(t, orbtest.Command("mktemp", "-d", "-p", "/srv").AsUser("root")).Stdout)
				list := "TODO_FILE=" + dir + "/list"
				add := todo("add", "rotate keys").WithEnv(list)
				if u.name == "root" {
					vm.MustExec(t, add)
				} else {
					res := mustFail(t, vm, add, 1)
					assert.Contains(t, res.Stderr, "permission denied")
					// WithUser gave ci passwordless sudo; sudo resets the
					// environment, so pass the variable on the command line.
					vm.MustExec(t, orbtest.Command("sudo", "-n", list, "todo", "add", "rotate keys"))
				}
				assert.Equal(t, "1. rotate keys\n", vm.MustExec(t, todo("list").WithEnv(list).AsUser("root")).Stdout)
			})
		})
	}
}

package incus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
	"github.com/orbtest/go-orbtest/internal/env"
)

// A fake incus for hermetic driver tests: the test binary itself, run with
// ORBTEST_FAKE_INCUS set to a directory holding rules.json. It logs each
// argv to calls.log (one line each, newlines written as \n) and answers with the first rule whose Match is a
// substring of the space-joined argv; a rule with Once is used up.

const fakeEnv = "ORBTEST_FAKE_INCUS"

type fakeRule struct {
	Match  string `json:"match"`
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	Code   int    `json:"code,omitempty"`
	Once   bool   `json:"once,omitempty"`
	// Guest answers as the guard would for the command: records around
	// the output; Lose names a stream whose end record is left out.
	Guest bool   `json:"guest,omitempty"`
	Lose  string `json:"lose,omitempty"`
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(fakeEnv); dir != "" {
		os.Exit(fakeIncus(dir, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeIncus(dir string, args []string) int {
	token := ""
	if i := slices.Index(args, "orbtest-exec"); i >= 0 && i+1 < len(args) {
		token = args[i+1]
		args = slices.Clone(args)
		args[i+1] = "TOKEN"
	}
	line := strings.Join(args, " ")
	f, err := os.OpenFile(filepath.Join(dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		fmt.Fprintln(f, strings.ReplaceAll(line, "\n", `\n`))
		f.Close()
	}
	path := filepath.Join(dir, "rules.json")
	var rules []fakeRule
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &rules)
	}
	for i, r := range rules {
		if !strings.Contains(line, r.Match) {
			continue
		}
		if r.Once {
			rules = append(rules[:i:i], rules[i+1:]...)
			b, _ := json.Marshal(rules)
			_ = os.WriteFile(path, b, 0o600)
		}
		if r.Guest && token != "" {
			rec := "\x1eorbtest:" + token + ":"
			fmt.Fprintf(os.Stderr, "%sstart:4242:4241:group\n", rec)
			fmt.Fprint(os.Stdout, r.Stdout)
			fmt.Fprint(os.Stderr, r.Stderr)
			if r.Lose != "stdout" {
				fmt.Fprintf(os.Stdout, "%send:%d\n", rec, r.Code)
			}
			if r.Lose != "stderr" {
				fmt.Fprintf(os.Stderr, "%send:%d\n", rec, r.Code)
			}
			return r.Code
		}
		fmt.Fprint(os.Stdout, r.Stdout)
		fmt.Fprint(os.Stderr, r.Stderr)
		return r.Code
	}
	fmt.Fprintf(os.Stderr, "Error: fake incus has no rule for %q\n", line)
	return 1
}

// fake is a driver running the fake incus with rules.
type fake struct {
	*Driver
	dir string
}

func newFake(t *testing.T, rules []fakeRule, opts ...Option) fake {
	dir := t.TempDir()
	b, err := json.Marshal(rules)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.json"), b, 0o600))
	t.Setenv(fakeEnv, dir)
	// A race-enabled fake would sleep 1s at exit (the race runtime's default).
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return fake{New(os.Args[0], opts...), dir}
}

// calls are the argv lines the fake saw, without the program.
func (f fake) calls(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(f.dir, "calls.log"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

const (
	runningJSON = `[{"name":"orbtest-a","status":"Running","architecture":"x86_64","config":{"user.orbtest.user":"dev"},"state":{"network":{"eth0":{"addresses":[{"family":"inet","address":"10.0.0.2","scope":"global"}]}}}}]`
	stoppedJSON = `[{"name":"orbtest-a","status":"Stopped","architecture":"x86_64","config":{}}]`
	rootJSON    = `[{"name":"orbtest-a","status":"Running","architecture":"x86_64","config":{}}]`
	imagesJSON  = `[{"fingerprint":"ff","architecture":"x86_64","type":"container","aliases":[{"name":"debian/bookworm"}]}]`
	serverJSON  = `{"auth":"trusted","environment":{"server_version":"6.0.4","architectures":["x86_64","i686"]}}`
	notFound    = "Error: Failed to fetch instance \"orbtest-a\" in project \"default\": Instance not found\n"
)

// errAny stands for any error in a table.
var errAny = errors.New("any error")

// guardLine is the guard's argv as the fake logs it.
func guardLine(dir string, home, stdin bool, argv ...string) string {
	return strings.ReplaceAll(strings.Join(cli.GuardArgv("TOKEN", dir, home, stdin, argv), " "), "\n", `\n`)
}

func TestFakeExecTellsGuestFromIncus(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		reason   string
		rules    []fakeRule
		wantCode int
		wantErr  error
	}{
		{"guest exit", "the guard's end record: the guest's status",
			[]fakeRule{{Match: "exec", Guest: true, Stderr: "oops\n", Code: 3}}, 3, nil},
		{"guest imitates incus", "an Error: line inside the guard's records is the guest's",
			[]fakeRule{{Match: "exec", Guest: true, Stderr: notFound, Code: 1}}, 1, nil},
		{"missing program", "a missing program is the guard's 127",
			[]fakeRule{{Match: "exec", Guest: true, Stderr: "sh: 1: exec: x: not found\n", Code: 127}}, 127, nil},
		{"lost stderr", "a stream without its end record is an error, not a short result",
			[]fakeRule{{Match: "exec", Guest: true, Lose: "stderr"}}, -1, cli.ErrIncomplete},
		{"incus fails, machine runs", "no records, the machine runs: an error, not an exit code",
			[]fakeRule{{Match: "exec", Stderr: "Error: websocket: close 1006\n", Code: 1}, {Match: "list", Stdout: rootJSON}}, -1, errAny},
		{"machine gone", "incus error and list confirms: not found",
			[]fakeRule{{Match: "exec", Stderr: notFound, Code: 1}, {Match: "list", Stdout: "[]"}}, -1, backend.ErrNotFound},
		{"machine stopped", "incus error and the machine is stopped",
			[]fakeRule{{Match: "exec", Stderr: "Error: Instance is not running\n", Code: 1}, {Match: "list", Stdout: stoppedJSON}}, -1, backend.ErrInvalid},
		{"daemon down", "incus error and list fails too",
			[]fakeRule{{Match: "", Stderr: "Error: The incus daemon doesn't appear to be started (socket path: /var/lib/incus/unix.socket)\n", Code: 1}}, -1, backend.ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.rules)
			code, err := f.Exec(ctx, "orbtest-a", backend.ExecRequest{Argv: []string{"x"}, User: "root"})
			assert.Equal(t, tc.wantCode, code, tc.reason)
			if tc.wantErr == nil {
				assert.NoError(t, err, tc.reason)
			} else if tc.wantErr == errAny {
				assert.Error(t, err, tc.reason)
			} else {
				assert.ErrorIs(t, err, tc.wantErr, tc.reason)
			}
			assert.Equal(t, "exec orbtest-a -T --user=0 --group=0 --cwd=/ --env=HOME=/root --env=USER=root --env=LOGNAME=root -- "+
				guardLine("/root", true, false, "x"), f.calls(t)[0])
		})
	}
}

func TestFakeExecUserLookupCached(t *testing.T) {
	f := newFake(t, []fakeRule{
		{Match: "list", Stdout: runningJSON},
		{Match: "getent passwd dev", Guest: true, Stdout: "dev:x:1000:1001::/home/dev:/bin/bash\n"},
		{Match: "exec", Guest: true, Stdout: "ok\n"},
	})
	ctx := context.Background()
	for range 2 {
		code, err := f.Exec(ctx, "orbtest-a", backend.ExecRequest{Argv: []string{"id"}, Env: []string{"A=1"}, Stdin: strings.NewReader("in")})
		require.NoError(t, err)
		assert.Equal(t, 0, code)
	}
	want := "exec orbtest-a -T --user=1000 --group=1001 --cwd=/ --env=HOME=/home/dev --env=USER=dev --env=LOGNAME=dev --env=A=1 -- " +
		guardLine("/home/dev", true, true, "id")
	// With stdin, the guard is released by a second call, as root.
	ack := "exec orbtest-a -T -n --user=0 --group=0 --cwd=/ -- " + strings.Join(cli.AckArgv(cli.Start{Guard: 4241}), " ")
	assert.Equal(t, []string{
		"project get-current", // no answer: Inspect lists
		"list ^orbtest-a$ --format json",
		"exec orbtest-a -T --user=0 --group=0 --cwd=/ -- " + guardLine("/", false, false, "getent", "passwd", "dev"),
		want, ack, want, ack,
	}, f.calls(t), "default user and uid looked up once")
}

func TestFakeStartStopIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, []fakeRule{
		{Match: "start", Stderr: "Error: The instance is already running\n", Code: 1},
		{Match: "stop", Stderr: "Error: The instance is already stopped\nTry `incus info --show-log orbtest-a` for more info\n", Code: 1},
	})
	assert.NoError(t, f.Start(ctx, "orbtest-a"))
	assert.NoError(t, f.Stop(ctx, "orbtest-a"))
}

func TestFakeStartPicksNewMAC(t *testing.T) {
	const taken = "Error: Failed start validation for device \"eth0\": MAC address \"10:66:6a:6b:cd:56\" already defined on another NIC\nTry `incus info --show-log orbtest-a` for more info\n"
	start, unset := "start orbtest-a", "config unset orbtest-a volatile.eth0.hwaddr"
	t.Run("once", func(t *testing.T) {
		f := newFake(t, []fakeRule{
			{Match: "start", Stderr: taken, Code: 1, Once: true},
			{Match: unset},
			{Match: "start"},
		})
		require.NoError(t, f.Start(context.Background(), "orbtest-a"))
		assert.Equal(t, []string{start, unset, start}, f.calls(t))
	})
	t.Run("taken again", func(t *testing.T) {
		f := newFake(t, []fakeRule{
			{Match: "start", Stderr: taken, Code: 1},
			{Match: unset},
		})
		err := f.Start(context.Background(), "orbtest-a")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `incus start "orbtest-a": command "`+os.Args[0]+` start orbtest-a" exited 1: Error: Failed start validation`)
		assert.Equal(t, []string{start, unset, start}, f.calls(t), "a new address is picked once")
	})
	t.Run("unset fails", func(t *testing.T) {
		f := newFake(t, []fakeRule{
			{Match: "start", Stderr: taken, Code: 1},
			{Match: unset, Stderr: "Error: Failed to fetch instance \"orbtest-a\" in project \"default\": Instance not found\n", Code: 1},
		})
		err := f.Start(context.Background(), "orbtest-a")
		assert.ErrorIs(t, err, backend.ErrNotFound)
		assert.Contains(t, err.Error(), "forget the MAC address of eth0, which another NIC has")
		assert.Equal(t, []string{start, unset}, f.calls(t))
	})
}

func TestFakeRestartAndRestorePickNewMAC(t *testing.T) {
	const taken = "Error: Failed start validation for device \"eth0\": MAC address \"10:66:6a:6b:cd:56\" already defined on another NIC\n"
	start, unset := "start orbtest-a", "config unset orbtest-a volatile.eth0.hwaddr"
	t.Run("restart", func(t *testing.T) {
		// incus restart stops the container and then cannot start it.
		f := newFake(t, []fakeRule{
			{Match: "restart", Stderr: taken, Code: 1},
			{Match: "start", Stderr: taken, Code: 1, Once: true},
			{Match: unset},
			{Match: "start"},
		})
		require.NoError(t, f.Restart(context.Background(), "orbtest-a"))
		assert.Equal(t, []string{"restart orbtest-a --timeout=20", start, unset, start}, f.calls(t), "no forced restart")
	})
	t.Run("forced restart", func(t *testing.T) {
		// The clean shutdown takes too long; the forced restart then
		// stops the container and cannot start it.
		f := newFake(t, []fakeRule{
			{Match: "--timeout=20", Stderr: "Error: Failed shutting down instance, status is \"Running\": context deadline exceeded\n", Code: 1},
			{Match: "restart orbtest-a --force", Stderr: taken, Code: 1},
			{Match: "start", Stderr: taken, Code: 1, Once: true},
			{Match: unset},
			{Match: "start"},
		})
		require.NoError(t, f.Restart(context.Background(), "orbtest-a"))
		assert.Equal(t, []string{"restart orbtest-a --timeout=20", "restart orbtest-a --force", start, unset, start}, f.calls(t))
	})
	t.Run("restore", func(t *testing.T) {
		// incus restores a running container and then cannot start it.
		f := newFake(t, []fakeRule{
			{Match: "list", Stdout: rootJSON},
			{Match: "snapshot restore", Stderr: taken, Code: 1},
			{Match: "start", Stderr: taken, Code: 1, Once: true},
			{Match: unset},
			{Match: "start"},
		})
		require.NoError(t, f.Restore(context.Background(), "orbtest-a", "clean"))
		assert.Equal(t, []string{"project get-current", "list ^orbtest-a$ --format json", "snapshot restore orbtest-a clean", start, unset, start}, f.calls(t))
	})
	t.Run("restore of a stopped container", func(t *testing.T) {
		f := newFake(t, []fakeRule{
			{Match: "list", Stdout: stoppedJSON},
			{Match: "snapshot restore", Stderr: taken, Code: 1},
		})
		err := f.Restore(context.Background(), "orbtest-a", "clean")
		assert.ErrorContains(t, err, `incus restore "orbtest-a" to "clean"`, "not one incus starts: its error stands")
		assert.Equal(t, []string{"project get-current", "list ^orbtest-a$ --format json", "snapshot restore orbtest-a clean"}, f.calls(t))
	})
}

func TestFakeStopForcesAfterFailedShutdown(t *testing.T) {
	f := newFake(t, []fakeRule{
		{Match: "--timeout=20", Stderr: "Error: Failed shutting down instance, status is \"Running\": context deadline exceeded\n", Code: 1},
		{Match: "stop orbtest-a --force"},
	})
	require.NoError(t, f.Stop(context.Background(), "orbtest-a"))
	assert.Equal(t, []string{"stop orbtest-a --timeout=20", "stop orbtest-a --force"}, f.calls(t))
}

func TestFakeRestartForcesAfterFailedShutdown(t *testing.T) {
	f := newFake(t, []fakeRule{
		{Match: "--timeout=20", Stderr: "Error: Failed shutting down instance, status is \"Running\": context deadline exceeded\n", Code: 1},
		{Match: "restart orbtest-a --force"},
	})
	require.NoError(t, f.Restart(context.Background(), "orbtest-a"))
	assert.Equal(t, []string{"restart orbtest-a --timeout=20", "restart orbtest-a --force"}, f.calls(t))
}

func TestFakeRestartOfMissingMachine(t *testing.T) {
	f := newFake(t, []fakeRule{
		{Match: "restart", Stderr: "Error: Failed checking instance exists \"local:orbtest-a\": Instance not found\n", Code: 1},
	})
	err := f.Restart(context.Background(), "orbtest-a")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	assert.Equal(t, []string{"restart orbtest-a --timeout=20"}, f.calls(t), "a missing machine is not restarted by force")
}

func TestFakeCreate(t *testing.T) {
	ctx := context.Background()
	t.Run("local image, user, limits", func(t *testing.T) {
		f := newFake(t, []fakeRule{
			{Match: "image list", Stdout: imagesJSON},
			{Match: "init"}, {Match: "start"}, {Match: "exec"},
		}, WithRemote("lab"))
		spec := backend.Spec{Distro: "debian", Version: "12", User: "dev", CPUs: 2, MemoryMiB: 256, DiskMiB: 1024}
		require.NoError(t, f.Create(ctx, "orbtest-a", spec))
		require.NoError(t, f.Create(ctx, "orbtest-b", spec))
		calls := f.calls(t)
		require.Len(t, calls, 7, "%q", calls)
		assert.Equal(t, "image list lab: --format json", calls[0], "resolution is cached: listed once")
		assert.Equal(t, "init lab:debian/bookworm lab:orbtest-a -c limits.cpu=2 -c limits.memory=256MiB -c user.orbtest.user=dev -d root,size=1024MiB", calls[1])
		assert.Equal(t, "start lab:orbtest-a", calls[2])
		assert.True(t, strings.HasPrefix(calls[3], "exec lab:orbtest-a -T -n --user=0 --group=0 --cwd=/ -- sh -c "), calls[3])
		assert.True(t, strings.HasSuffix(calls[3], " sh dev"), "the user name is a positional parameter")
		assert.Equal(t, "init lab:debian/bookworm lab:orbtest-b -c limits.cpu=2 -c limits.memory=256MiB -c user.orbtest.user=dev -d root,size=1024MiB", calls[4])
	})
	t.Run("public fallback with cloud-init", func(t *testing.T) {
		f := newFake(t, []fakeRule{{Match: "image list", Stdout: "[]"}, {Match: "init"}, {Match: "start"}})
		require.NoError(t, f.Create(ctx, "orbtest-a", backend.Spec{Distro: "ubuntu", CloudInit: []byte("#cloud-config\n")}))
		assert.Equal(t, `init images:ubuntu/24.04/cloud orbtest-a -c cloud-init.user-data=#cloud-config\n`, f.calls(t)[1])
	})
	t.Run("start fails: deleted", func(t *testing.T) {
		f := newFake(t, []fakeRule{
			{Match: "image list", Stdout: imagesJSON}, {Match: "init"},
			{Match: "start", Stderr: "Error: Failed to run: forkstart\nTry `incus info --show-log orbtest-a` for more info\n", Code: 1},
			{Match: "delete"},
		})
		err := f.Create(ctx, "orbtest-a", backend.Spec{Distro: "debian"})
		require.Error(t, err)
		assert.Equal(t, "delete --force orbtest-a", f.calls(t)[3], "nothing left behind")
	})
	t.Run("exists: not deleted", func(t *testing.T) {
		f := newFake(t, []fakeRule{
			{Match: "image list", Stdout: imagesJSON},
			{Match: "init", Stderr: "Creating orbtest-a\nError: Failed creating instance record: Add instance info to the database: Failed to create \"instances\" entry: UNIQUE constraint failed: instances.project_id, instances.name\n", Code: 1},
		})
		err := f.Create(ctx, "orbtest-a", backend.Spec{Distro: "debian"})
		assert.ErrorIs(t, err, backend.ErrExists)
		assert.Len(t, f.calls(t), 2, "the existing machine is left alone")
	})
	t.Run("init fails: cleaned up", func(t *testing.T) {
		f := newFake(t, []fakeRule{
			{Match: "image list", Stdout: imagesJSON},
			{Match: "init", Stderr: "Creating orbtest-a\nError: Failed instance creation: Failed creating instance from image: Unpack failed\n", Code: 1},
			{Match: "delete", Stderr: notFound, Code: 1},
		})
		err := f.Create(ctx, "orbtest-a", backend.Spec{Distro: "debian"})
		require.Error(t, err)
		assert.Equal(t, "delete --force orbtest-a", f.calls(t)[2], "a half-made record is removed")
	})
	t.Run("arch unavailable", func(t *testing.T) {
		f := newFake(t, []fakeRule{{Match: "query", Stdout: serverJSON}})
		err := f.Create(ctx, "orbtest-a", backend.Spec{Distro: "debian", Arch: "arm64"})
		assert.ErrorIs(t, err, backend.ErrInvalid)
		assert.Contains(t, err.Error(), `architecture "arm64" unavailable`)
		assert.Equal(t, []string{"query /1.0"}, f.calls(t), "nothing created")
	})
	t.Run("arch native", func(t *testing.T) {
		f := newFake(t, []fakeRule{{Match: "query", Stdout: serverJSON}, {Match: "image list", Stdout: imagesJSON}, {Match: "init"}, {Match: "start"}})
		require.NoError(t, f.Create(ctx, "orbtest-a", backend.Spec{Distro: "debian", Arch: "amd64"}))
		assert.Equal(t, "init debian/bookworm orbtest-a", f.calls(t)[2])
	})
}

// Inspect asks for the one instance in the client's current project
// (learnt once), and a missing instance is ErrNotFound; where the client
// cannot name its project, Inspect lists.
func TestFakeInspectQueriesOneInstance(t *testing.T) {
	one := strings.TrimSuffix(strings.TrimPrefix(runningJSON, "["), "]")
	for _, tc := range []struct {
		name   string
		rules  []fakeRule
		remote string
		err    error
		calls  []string
	}{
		{
			name:  "the instance in the current project",
			rules: []fakeRule{{Match: "project get-current", Stdout: "dev-project\n"}, {Match: "query /1.0/instances/orbtest-a?", Stdout: one}},
			calls: []string{"project get-current", "query /1.0/instances/orbtest-a?project=dev-project&recursion=1", "query /1.0/instances/orbtest-a?project=dev-project&recursion=1"},
		},
		{
			name:   "on a remote",
			remote: "lab",
			rules:  []fakeRule{{Match: "project get-current lab:", Stdout: "default\n"}, {Match: "query lab:/1.0/instances/orbtest-a?", Stdout: one}},
			calls:  []string{"project get-current lab:", "query lab:/1.0/instances/orbtest-a?project=default&recursion=1", "query lab:/1.0/instances/orbtest-a?project=default&recursion=1"},
		},
		{
			name:  "missing",
			rules: []fakeRule{{Match: "project get-current", Stdout: "default\n"}, {Match: "query", Stderr: notFound, Code: 1}},
			err:   backend.ErrNotFound,
			calls: []string{"project get-current", "query /1.0/instances/orbtest-a?project=default&recursion=1", "query /1.0/instances/orbtest-a?project=default&recursion=1"},
		},
		{
			name:  "no project: a list",
			rules: []fakeRule{{Match: "project get-current", Stderr: "Error: unknown command\n", Code: 1}, {Match: "list", Stdout: runningJSON}},
			calls: []string{"project get-current", "list ^orbtest-a$ --format json", "list ^orbtest-a$ --format json"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.remote != "" {
				opts = append(opts, WithRemote(tc.remote))
			}
			f := newFake(t, tc.rules, opts...)
			for range 2 {
				m, err := f.Inspect(context.Background(), "orbtest-a")
				if tc.err != nil {
					assert.ErrorIs(t, err, tc.err)
					continue
				}
				require.NoError(t, err)
				assert.Equal(t, backend.StateRunning, m.State)
				assert.Equal(t, "10.0.0.2", m.Address)
			}
			assert.Equal(t, tc.calls, f.calls(t), "the project is asked once")
		})
	}
}

func TestFakeRestoreRestarts(t *testing.T) {
	f := newFake(t, []fakeRule{
		{Match: "list", Stdout: rootJSON, Once: true},
		{Match: "list", Stdout: stoppedJSON},
		{Match: "snapshot restore"},
		{Match: "start"},
	})
	require.NoError(t, f.Restore(context.Background(), "orbtest-a", "clean"))
	assert.Equal(t, []string{
		"project get-current", // no answer: Inspect lists
		"list ^orbtest-a$ --format json",
		"snapshot restore orbtest-a clean",
		"list ^orbtest-a$ --format json",
		"start orbtest-a",
	}, f.calls(t), "a machine running before restore runs after it")
}

func TestFakePushOwner(t *testing.T) {
	f := newFake(t, []fakeRule{
		{Match: "list", Stdout: runningJSON},
		{Match: "getent", Guest: true, Stdout: "dev:x:1000:1000::/home/dev:/bin/bash\n"},
		{Match: "file push"},
	})
	require.NoError(t, f.Push(context.Background(), "orbtest-a", "rel/-f", "/home/dev/f"))
	calls := f.calls(t)
	assert.Equal(t, "file push --uid=1000 --gid=1000 -- ./rel/-f orbtest-a/home/dev/f", calls[len(calls)-1])
}

func TestFakeProbe(t *testing.T) {
	f := newFake(t, []fakeRule{{Match: "query /1.0", Stdout: serverJSON}})
	info, err := f.Probe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, backend.Info{Backend: "incus", Version: "6.0.4", Features: []string{"isolated", "limits", "cloud-init"}}, info)

	down := newFake(t, []fakeRule{{Match: "", Stderr: "Error: The incus daemon doesn't appear to be started (socket path: /var/lib/incus/unix.socket)\n", Code: 1}})
	_, err = down.Probe(context.Background())
	assert.ErrorIs(t, err, backend.ErrUnavailable)

	_, err = New("/nonexistent/incus").Probe(context.Background())
	assert.ErrorIs(t, err, backend.ErrUnavailable, "no binary")
}

func TestCommands(t *testing.T) {
	d := New("incus")
	assert.Equal(t, "incus exec orbtest-a -- bash -l", d.ShellCommand("orbtest-a"))
	assert.Equal(t, "incus delete --force orbtest-a", d.DeleteCommand("orbtest-a"))
	r := New("/opt/my incus/incus", WithRemote("lab"))
	assert.Equal(t, "'/opt/my incus/incus' exec lab:orbtest-a -- bash -l", r.ShellCommand("orbtest-a"))
	assert.Equal(t, "'/opt/my incus/incus' delete --force lab:orbtest-a", r.DeleteCommand("orbtest-a"))
	assert.Equal(t, "incus", d.Name())
	assert.Equal(t, "lab", r.Location())
}

func TestFind(t *testing.T) {
	t.Setenv(env.Incus, os.Args[0])
	p, err := Find()
	require.NoError(t, err)
	assert.Equal(t, os.Args[0], p)

	t.Setenv(env.Incus, "/nonexistent/incus")
	_, err = Find()
	assert.ErrorIs(t, err, backend.ErrUnavailable)

	t.Setenv(env.Incus, "")
	t.Setenv("PATH", t.TempDir())
	_, err = Find()
	assert.ErrorIs(t, err, backend.ErrUnavailable)
}

func TestFakeRejectsBeforeRunning(t *testing.T) {
	f := newFake(t, nil)
	ctx := context.Background()
	for _, req := range []backend.ExecRequest{
		{},
		{Argv: []string{""}},
		{Argv: []string{"x"}, Env: []string{"NOEQ"}},
		{Argv: []string{"x"}, Dir: "relative"},
		{Argv: []string{"x"}, User: "Bad User"},
	} {
		_, err := f.Exec(ctx, "orbtest-a", req)
		assert.ErrorIs(t, err, backend.ErrInvalid, "%+v", req)
	}
	_, err := f.Exec(ctx, "-x", backend.ExecRequest{Argv: []string{"x"}})
	assert.ErrorIs(t, err, backend.ErrInvalid)
	assert.ErrorIs(t, f.Create(ctx, "", backend.Spec{Distro: "debian"}), backend.ErrInvalid)
	assert.ErrorIs(t, f.Delete(ctx, ""), backend.ErrInvalid)
	assert.ErrorIs(t, f.Push(ctx, "orbtest-a", "/tmp/x", "rel"), backend.ErrInvalid)
	assert.ErrorIs(t, f.Pull(ctx, "orbtest-a", "rel", "/tmp/x"), backend.ErrInvalid)
	assert.ErrorIs(t, f.Snapshot(ctx, "orbtest-a", "a/b"), backend.ErrInvalid)
	assert.ErrorIs(t, f.Clone(ctx, "orbtest-a", "b_c"), backend.ErrInvalid)
	assert.Empty(t, f.calls(t), "bad input runs nothing")
}

func TestHostnameIsTheBridgesDNSName(t *testing.T) {
	f := newFake(t, nil)
	assert.Equal(t, "orbtest-a.incus", f.Hostname("orbtest-a"))
	assert.Empty(t, f.calls(t), "Hostname runs nothing")
}

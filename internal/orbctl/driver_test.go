package orbctl

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// These tests drive the Driver against a shell-script stub orbctl (see
// stub_test.go) that records its argv and answers from files.

func TestDriverProbe(t *testing.T) {
	s := newStub(t).running(t, "2.2.3")
	d := New(s.path)
	ctx := context.Background()
	info, err := d.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := backend.Info{Backend: "orbstack", Version: "2.2.3",
		Features: []string{"isolated", "limits", "cloud-init"}}
	if d := diff(want, info); d != "" {
		t.Errorf("Probe %s", d)
	}
	if _, err := d.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(s.callsOf(t, "status")); got != 2 {
		t.Errorf("status ran %d times over two probes, want 2 (state can change)", got)
	}
	if got := len(s.callsOf(t, "version")); got != 1 {
		t.Errorf("version ran %d times over two probes, want 1 (cached)", got)
	}
	if d := diff([][]string{{"status"}, {"version"}, {"status"}}, s.calls(t)); d != "" {
		t.Errorf("calls %s", d)
	}
}

func TestDriverProbeNotRunning(t *testing.T) {
	tests := []struct {
		reason string
		out    string
		code   int
		want   string
	}{
		{"stopped", "Stopped\n", 1, "start it with `orbctl start`"},
		{"starting", "Starting\n", 2, "still starting"},
		{"unparseable status", "???\n", 7, "parse orbctl status"},
	}
	for _, tt := range tests {
		s := newStub(t).running(t, "2.2.3")
		s.respond(t, "status", tt.out, "", tt.code)
		_, err := New(s.path).Probe(context.Background())
		checkErr(t, tt.reason, err, backend.ErrUnavailable, tt.want)
		if n := len(s.callsOf(t, "version")); n != 0 {
			t.Errorf("%s: version ran although OrbStack is not running", tt.reason)
		}
	}
}

func TestDriverProbeNoOrbctl(t *testing.T) {
	_, err := New(filepath.Join(t.TempDir(), "orbctl")).Probe(context.Background())
	checkErr(t, "missing binary", err, backend.ErrUnavailable, "orbctl status")
	_, err = New("").Probe(context.Background())
	checkErr(t, "empty path", err, backend.ErrUnavailable, "orbctl.Find")
}

func TestDriverProbeVersionFailureNotCached(t *testing.T) {
	s := newStub(t).running(t, "2.1.3")
	s.respond(t, "version", "", "boom\n", 1)
	d := New(s.path)
	if _, err := d.Probe(context.Background()); err == nil {
		t.Fatal("Probe succeeded although version failed")
	}
	s.running(t, "2.1.3")
	info, err := d.Probe(context.Background())
	if err != nil {
		t.Fatalf("Probe after version recovered: %v", err)
	}
	if info.Version != "2.1.3" || !slices.Equal(info.Features, []string{"isolated", "cloud-init"}) {
		t.Errorf("Probe = %+v, want 2.1.3 with isolated and without limits", info)
	}
}

func TestDriverProbeConcurrent(t *testing.T) {
	s := newStub(t).running(t, "2.2.3")
	d := New(s.path)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.Probe(context.Background())
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := len(s.callsOf(t, "version")); got != 1 {
		t.Errorf("version ran %d times under concurrent probes, want 1", got)
	}
}

func TestDriverCreate(t *testing.T) {
	s := newStub(t).running(t, "2.2.3")
	// Keep a copy of the user data file and its path while create runs.
	s.script(t, "create", `prev=""
for a in "$@"; do
  if [ "$prev" = "-c" ]; then cp "$a" "$d/userdata.copy"; printf '%s' "$a" > "$d/userdata.path"; fi
  prev="$a"
done
`)
	d := New(s.path)
	spec := backend.Spec{Distro: "debian", Version: "bookworm", Arch: "arm64", User: "alice",
		CloudInit: []byte("#cloud-config\npackages: [curl]\n"), CPUs: 2, MemoryMiB: 1024}
	if err := d.Create(context.Background(), "orbtest-c1", spec); err != nil {
		t.Fatal(err)
	}
	path := s.file(t, "userdata.path")
	want := []string{"create", "-a", "arm64", "-u", "alice", "-c", path, "--isolated",
		"--cpus", "2", "--memory", "1024M", "debian:bookworm", "orbtest-c1"}
	if d := diff([][]string{want}, s.callsOf(t, "create")); d != "" {
		t.Errorf("create call %s", d)
	}
	if got := s.file(t, "userdata.copy"); got != string(spec.CloudInit) {
		t.Errorf("user data file held %q, want %q", got, spec.CloudInit)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("user data file %s still exists after Create (stat: %v)", path, err)
	}
}

func TestDriverCreateOldOrbStack(t *testing.T) {
	s := newStub(t).running(t, "2.0.4")
	d := New(s.path)
	if err := d.Create(context.Background(), "orbtest-c1", backend.Spec{Distro: "alpine"}); err != nil {
		t.Fatal(err)
	}
	if d := diff([][]string{{"create", "alpine", "orbtest-c1"}}, s.callsOf(t, "create")); d != "" {
		t.Errorf("2.0 creates without --isolated: %s", d)
	}
	err := d.Create(context.Background(), "orbtest-c2", backend.Spec{Distro: "alpine", MemoryMiB: 512})
	checkErr(t, "limits on 2.0", err, backend.ErrUnsupported, "need OrbStack 2.2 or later; installed 2.0.4")
	if got := len(s.callsOf(t, "create")); got != 1 {
		t.Errorf("an unsupported create ran orbctl create")
	}
}

func TestDriverCreateErrors(t *testing.T) {
	tests := []struct {
		reason string
		stderr string
		want   error
	}{
		{"name taken", "[-32098] create 'orbtest-c1': machine already exists: 'orbtest-c1'\n", backend.ErrExists},
		{"no IP", "[-32098] create 'orbtest-c1': setup: machine didn't start in 30s (missing IP address)\n", backend.ErrTransient},
		{"unknown version", "[-32098] create 'orbtest-c1': make rootfs: image not found: {debian nosuch arm64 default}\n", backend.ErrInvalid},
	}
	for _, tt := range tests {
		s := newStub(t).running(t, "2.2.3")
		s.respond(t, "create", "", tt.stderr, 1)
		err := New(s.path).Create(context.Background(), "orbtest-c1", backend.Spec{Distro: "debian", Version: "bookworm"})
		checkErr(t, tt.reason, err, tt.want, `orbctl create "orbtest-c1": `)
		var ce *cmdrun.CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 1 || !strings.Contains(ce.Stderr, "[-32098]") {
			t.Errorf("%s: error %v does not carry the command error", tt.reason, err)
		}
	}
}

func TestDriverCreateInvalidRunsNothing(t *testing.T) {
	s := newStub(t).running(t, "2.2.3")
	d := New(s.path)
	for _, tt := range []struct {
		reason string
		name   string
		spec   backend.Spec
	}{
		{"empty name", "", backend.Spec{Distro: "debian"}},
		{"unknown distro", "orbtest-c1", backend.Spec{Distro: "amazon"}},
		{"user as a flag", "orbtest-c1", backend.Spec{Distro: "debian", User: "-x"}},
	} {
		err := d.Create(context.Background(), tt.name, tt.spec)
		checkErr(t, tt.reason, err, backend.ErrInvalid, "orbctl create")
	}
	if got := s.callsOf(t, "create"); len(got) != 0 {
		t.Errorf("invalid creates ran orbctl: %q", got)
	}
}

func TestDriverClone(t *testing.T) {
	s := newStub(t).running(t, "2.0.4")
	d := CloningDriver{New(s.path)}
	if err := d.Clone(context.Background(), "orbtest-tpl", "orbtest-c1"); err != nil {
		t.Fatal(err)
	}
	if d := diff([][]string{{"clone", "orbtest-tpl", "orbtest-c1"}}, s.callsOf(t, "clone")); d != "" {
		t.Errorf("clone call %s", d)
	}
	old := newStub(t).running(t, "1.11.3")
	err := CloningDriver{New(old.path)}.Clone(context.Background(), "orbtest-tpl", "orbtest-c1")
	checkErr(t, "clone on 1.11", err, backend.ErrUnsupported, "installed 1.11.3")
	if got := old.callsOf(t, "clone"); len(got) != 0 {
		t.Errorf("unsupported clone ran orbctl: %q", got)
	}
}

func TestDriverLifecycleCalls(t *testing.T) {
	s := newStub(t)
	d := New(s.path)
	ctx := context.Background()
	for _, err := range []error{
		d.Start(ctx, "orbtest-m1"),
		d.Stop(ctx, "orbtest-m1"),
		d.Restart(ctx, "orbtest-m1"),
		d.Delete(ctx, "orbtest-m1"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := [][]string{{"start", "orbtest-m1"}, {"stop", "orbtest-m1"}, {"restart", "orbtest-m1"}, {"delete", "-f", "orbtest-m1"}}
	if d := diff(want, s.calls(t)); d != "" {
		t.Errorf("calls %s", d)
	}
	for _, err := range []error{d.Start(ctx, ""), d.Stop(ctx, ""), d.Restart(ctx, ""), d.Delete(ctx, "")} {
		checkErr(t, "empty name", err, backend.ErrInvalid, "machine name is empty")
	}
	if got := len(s.calls(t)); got != 4 {
		t.Errorf("empty names ran orbctl %d times", got-4)
	}
}

func TestDriverNotFound(t *testing.T) {
	s := newStub(t)
	for _, sub := range []string{"start", "stop", "restart", "delete", "info"} {
		s.respond(t, sub, "", "[-32098] machine not found: 'orbtest-gone'\n", 1)
	}
	d := New(s.path)
	ctx := context.Background()
	_, inspectErr := d.Inspect(ctx, "orbtest-gone")
	for _, tt := range []struct {
		reason string
		err    error
		prefix string
	}{
		{"start", d.Start(ctx, "orbtest-gone"), `orbctl start "orbtest-gone": `},
		{"stop", d.Stop(ctx, "orbtest-gone"), `orbctl stop "orbtest-gone": `},
		{"restart", d.Restart(ctx, "orbtest-gone"), `orbctl restart "orbtest-gone": `},
		{"delete", d.Delete(ctx, "orbtest-gone"), `orbctl delete "orbtest-gone": `},
		{"inspect", inspectErr, `orbctl info "orbtest-gone": `},
	} {
		checkErr(t, tt.reason, tt.err, backend.ErrNotFound, tt.prefix)
	}
}

func TestDriverInspectAndList(t *testing.T) {
	s := newStub(t)
	s.respond(t, "info", `{"record":`+recordJSON+`,"disk_size":1,"ip4":"192.168.138.9"}`, "", 0)
	s.respond(t, "list", "["+recordJSON+"]\n", "", 0)
	d := New(s.path)
	m, err := d.Inspect(context.Background(), "ubuntu1")
	if err != nil {
		t.Fatal(err)
	}
	want := ubuntuMachine
	want.IP4 = "192.168.138.9"
	want.Address = "192.168.138.9"
	want.DiskBytes = 1
	if d := diff(want, m); d != "" {
		t.Errorf("Inspect %s", d)
	}
	ms, err := d.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := diff([]backend.Machine{ubuntuMachine}, ms); d != "" {
		t.Errorf("List %s", d)
	}
	if d := diff([][]string{{"info", "ubuntu1", "-f", "json"}, {"list", "-f", "json"}}, s.calls(t)); d != "" {
		t.Errorf("calls %s", d)
	}
	s.respond(t, "list", "null\n", "", 0)
	if ms, err := d.List(context.Background()); err != nil || ms == nil || len(ms) != 0 {
		t.Errorf("List of null = %v, %v; want an empty non-nil list", ms, err)
	}
	s.respond(t, "info", "not json", "", 0)
	if _, err := d.Inspect(context.Background(), "ubuntu1"); err == nil || !strings.Contains(err.Error(), `orbctl info "ubuntu1": parse`) {
		t.Errorf("Inspect of bad json: %v", err)
	}
}

func TestDriverExec(t *testing.T) {
	s := newStub(t)
	s.guest(t)
	// The guest echoes stdin, writes to stderr, reports the forwarded
	// environment and exits 3.
	script := `cat
printf 'guest-err\n' >&2
printf '%s' "$ORBENV" > "$1/orbenv"
for k in $(printf '%s' "$ORBENV" | tr ':' ' '); do printf '%s=%s\n' "$k" "$(printenv "$k")"; done > "$1/env.out"
pwd >"$1/pwd"
exit 3`
	var stdout, stderr bytes.Buffer
	argv := []string{"sh", "-c", script, "guest", s.dir}
	code, err := New(s.path).Exec(context.Background(), "orbtest-m1", backend.ExecRequest{
		Argv:   argv,
		User:   "root",
		Dir:    "/tmp",
		Env:    []string{"FOO=1", "BAR=two words"},
		Stdin:  strings.NewReader("hello\n"),
		Stdout: &stdout,
		Stderr: &stderr,
	})
	if err != nil || code != 3 {
		t.Fatalf("Exec = %d, %v; want 3, nil", code, err)
	}
	if stdout.String() != "hello\n" || stderr.String() != "guest-err\n" {
		t.Errorf("streams: stdout %q stderr %q", stdout.String(), stderr.String())
	}
	calls := s.callsOf(t, "run")
	if len(calls) != 2 {
		t.Fatalf("run calls %q, want the command and the guard's release", calls)
	}
	// The guard starts in / and goes to the directory itself.
	want := append([]string{"run", "-m", "orbtest-m1", "-u", "root", "-w", "/"}, cli.GuardArgv("TOKEN", "/tmp", false, true, argv)...)
	calls[0][11] = "TOKEN"
	if d := diff(want, calls[0]); d != "" {
		t.Errorf("run call %s", d)
	}
	if got := calls[1][:8]; !slices.Equal(got, []string{"run", "-m", "orbtest-m1", "-u", "root", "-w", "/", "/bin/sh"}) || calls[1][10] != "orbtest-ack" {
		t.Errorf("release call %q, want an ack as root", calls[1])
	}
	if got := s.file(t, "pwd"); got != "/tmp\n" {
		t.Errorf("pwd = %q, want /tmp", got)
	}
	if got := s.file(t, "orbenv"); got != "FOO:BAR" {
		t.Errorf("ORBENV = %q, want FOO:BAR", got)
	}
	if got := s.file(t, "env.out"); got != "FOO=1\nBAR=two words\n" {
		t.Errorf("forwarded env = %q", got)
	}
}

func TestDriverExecExitCodes(t *testing.T) {
	tests := []struct {
		reason    string
		guest     bool // the command runs, through the guard
		stderr    string
		code      int
		wantCode  int
		wantClass error
	}{
		{reason: "success", guest: true, code: 0, wantCode: 0},
		{reason: "guest exit 1 is not an error", guest: true, stderr: "grep: no match\n", code: 1, wantCode: 1},
		{reason: "guest exit 255", guest: true, stderr: "x\n", code: 255, wantCode: 255},
		{reason: "a guest printing orbtctl's error is still the guest", guest: true, stderr: "[-32098] machine not found: 'orbtest-m1'\n", code: 1, wantCode: 1},
		{reason: "machine gone is an orbctl failure", stderr: "[-32098] machine not found: 'orbtest-m1'\n", code: 1, wantCode: -1, wantClass: backend.ErrNotFound},
		{reason: "output before orbctl's error does not change the class",
			stderr: "download failed\n[-32098] machine not found: 'orbtest-m1'\n", code: 1, wantCode: -1, wantClass: backend.ErrNotFound},
		{reason: "OrbStack cannot start", stderr: "start VM: timed out waiting for VM to start\n", code: 1, wantCode: -1, wantClass: backend.ErrUnavailable},
		{reason: "exit 0 without the guard is lost output", code: 0, wantCode: -1, wantClass: cli.ErrIncomplete},
	}
	for _, tt := range tests {
		s := newStub(t)
		argv := []string{"true"}
		if tt.guest {
			s.guest(t)
			argv = []string{"sh", "-c", `printf %s "$1" >&2; exit "$2"`, "guest", tt.stderr, strconv.Itoa(tt.code)}
		} else {
			s.respond(t, "run", "", tt.stderr, tt.code)
		}
		code, err := New(s.path).Exec(context.Background(), "orbtest-m1", backend.ExecRequest{Argv: argv, User: "root"})
		if code != tt.wantCode {
			t.Errorf("%s: exit code %d, want %d", tt.reason, code, tt.wantCode)
		}
		if tt.wantClass == nil {
			checkErr(t, tt.reason, err, nil, "")
			continue
		}
		checkErr(t, tt.reason, err, tt.wantClass, `orbctl run "orbtest-m1": `)
		var ce *cmdrun.CommandError
		if tt.wantClass != cli.ErrIncomplete && !errors.As(err, &ce) {
			t.Errorf("%s: %v does not carry the command error", tt.reason, err)
		}
	}
}

func TestDriverExecInvalidRunsNothing(t *testing.T) {
	s := newStub(t)
	d := New(s.path)
	for _, tt := range []struct {
		reason string
		req    backend.ExecRequest
	}{
		{"empty argv", backend.ExecRequest{}},
		{"dash command", backend.ExecRequest{Argv: []string{"-c", "true"}}},
		{"user flag", backend.ExecRequest{Argv: []string{"true"}, User: "--machine"}},
		{"dir flag", backend.ExecRequest{Argv: []string{"true"}, Dir: "--foo"}},
		{"bad env", backend.ExecRequest{Argv: []string{"true"}, Env: []string{"A:B=1"}}},
	} {
		code, err := d.Exec(context.Background(), "orbtest-m1", tt.req)
		checkErr(t, tt.reason, err, backend.ErrInvalid, `orbctl run "orbtest-m1": `)
		if code != -1 {
			t.Errorf("%s: exit code %d, want -1", tt.reason, code)
		}
	}
	if got := s.calls(t); len(got) != 0 {
		t.Errorf("invalid requests ran orbctl: %q", got)
	}
}

func TestDriverExecContext(t *testing.T) {
	s := newStub(t)
	s.script(t, "run", "exec sleep 10\n")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, err := New(s.path).Exec(ctx, "orbtest-m1", backend.ExecRequest{Argv: []string{"sleep", "10"}, Dir: "/tmp"})
	if code != -1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Exec past its deadline = %d, %v; want -1 and a deadline error", code, err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Exec took %v to stop after its deadline", time.Since(start))
	}
}

func TestDriverPushPull(t *testing.T) {
	s := newStub(t)
	d := New(s.path)
	ctx := context.Background()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Push(ctx, "orbtest-m1", "/tmp/in.txt", "/root/in.txt"); err != nil {
		t.Fatal(err)
	}
	if err := d.Pull(ctx, "orbtest-m1", "/etc/os-release", "out/os-release"); err != nil {
		t.Fatal(err)
	}
	if err := d.Push(ctx, "orbtest-m1", "-rf", "/root/x"); err != nil {
		t.Fatal(err) // a relative host path becomes absolute, so "-rf" is a file
	}
	want := [][]string{
		{"push", "-m", "orbtest-m1", "/tmp/in.txt", "/root/in.txt"},
		{"pull", "-m", "orbtest-m1", "/etc/os-release", filepath.Join(wd, "out/os-release")},
		{"push", "-m", "orbtest-m1", filepath.Join(wd, "-rf"), "/root/x"},
	}
	if d := diff(want, s.calls(t)); d != "" {
		t.Errorf("calls %s", d)
	}
	checkErr(t, "relative guest path", d.Push(ctx, "orbtest-m1", "/tmp/in", "in"), backend.ErrInvalid, "orbctl push")
	checkErr(t, "empty host path", d.Pull(ctx, "orbtest-m1", "/etc/x", ""), backend.ErrInvalid, "orbctl pull")
	s.respond(t, "pull", "", "[-32098] machine not found: 'orbtest-m1'\n", 1)
	checkErr(t, "pull from a missing machine", d.Pull(ctx, "orbtest-m1", "/etc/x", "/tmp/x"), backend.ErrNotFound, "")
	if got := len(s.calls(t)); got != 4 {
		t.Errorf("orbctl ran %d times, want 4", got)
	}
}

func TestDriverUnsupportedAndHints(t *testing.T) {
	d := New("/nonexistent/orbctl")
	if _, ok := any(d).(backend.Snapshotter); ok {
		t.Error("the OrbStack driver implements Snapshotter; OrbStack has no machine snapshots")
	}
	tests := []struct {
		reason string
		got    string
		want   string
	}{
		{"name", d.Name(), "orbstack"},
		{"shell", d.ShellCommand("orbtest-m1"), "orb -m orbtest-m1"},
		{"delete", d.DeleteCommand("orbtest-m1"), "orbctl delete -f orbtest-m1"},
		{"odd names are quoted", d.DeleteCommand("a b'c"), `orbctl delete -f 'a b'\''c'`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.reason, tt.got, tt.want)
		}
	}
}

// TestOpenClonesFromTwoPointZero: only an OrbStack that clones gives a
// driver that implements backend.Cloner, and no driver snapshots.
func TestOpenClonesFromTwoPointZero(t *testing.T) {
	for _, tt := range []struct {
		version string
		clones  bool
	}{{"1.11.3", false}, {"2.0.4", true}, {"2.2.3", true}} {
		d, err := Open(context.Background(), newStub(t).running(t, tt.version).path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := d.(backend.Cloner); ok != tt.clones {
			t.Errorf("OrbStack %s: driver implements Cloner = %v, want %v", tt.version, ok, tt.clones)
		}
		if _, ok := d.(backend.Snapshotter); ok {
			t.Errorf("OrbStack %s: driver implements Snapshotter; OrbStack has no snapshots", tt.version)
		}
		if d.Location() != "" {
			t.Errorf("OrbStack %s: Location = %q, want local", tt.version, d.Location())
		}
	}
	if _, err := Open(context.Background(), newStub(t).path); err == nil {
		t.Error("Open of a stopped OrbStack succeeded")
	}
}

// TestDriverInspectAddress: without an IPv4 address, the host reaches an
// OrbStack machine by its name.
func TestDriverInspectAddress(t *testing.T) {
	s := newStub(t)
	s.respond(t, "info", `{"record":`+recordJSON+`}`, "", 0)
	m, err := New(s.path).Inspect(context.Background(), "ubuntu1")
	if err != nil || m.Address != m.Name+".orb.local" {
		t.Errorf("Inspect without ip4: Address = %q (%v), want NAME.orb.local", m.Address, err)
	}
}

func TestHostnameIsOrbLocal(t *testing.T) {
	if got := New("orbctl").Hostname("orbtest-m1"); got != "orbtest-m1.orb.local" {
		t.Errorf("Hostname = %q, want the name OrbStack's DNS gives the machine", got)
	}
}

package fakeorbctl

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMainNeedsState(t *testing.T) {
	t.Setenv(EnvState, "")
	var out, errb bytes.Buffer
	if code := Main([]string{"version"}, nil, &out, &errb); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), EnvState) {
		t.Errorf("stderr %q does not name %s", errb.String(), EnvState)
	}
}

func TestMainInProcess(t *testing.T) {
	t.Setenv(EnvState, t.TempDir())
	t.Setenv(EnvVersion, "2.0.5")
	var out, errb bytes.Buffer
	if code := Main([]string{"version"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "Version: 2.0.5 (2000500)\nCommit: ") || !strings.HasSuffix(out.String(), " (v2.0.5)\n") {
		t.Errorf("version output %q", out.String())
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	out := ok(t, f, "version")
	lines := strings.Split(out, "\n")
	if len(lines) != 3 || lines[0] != "Version: 2.2.3 (2020300)" || lines[2] != "" {
		t.Fatalf("version output %q", out)
	}
	var sha, describe string
	if _, err := fmt.Sscanf(lines[1], "Commit: %s %s", &sha, &describe); err != nil || len(sha) != 40 || describe != "(v2.2.3)" {
		t.Errorf("commit line %q", lines[1])
	}
	f.Set(EnvVersion, "not-a-version")
	wantErr(t, f, 1, EnvVersion, "version")
}

func TestStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env, out string
		code     int
	}{{"", "Running\n", 0}, {"running", "Running\n", 0}, {"starting", "Starting\n", 2}, {"stopped", "Stopped\n", 1}} {
		f := newFake(t, WithEnv(EnvStatus, tc.env))
		r := run(t, f, "", "status")
		if r.stdout != tc.out || r.code != tc.code {
			t.Errorf("STATUS=%q: got %q exit %d, want %q exit %d", tc.env, r.stdout, r.code, tc.out, tc.code)
		}
	}
	// A machine command starts OrbStack; status does not.
	f := newFake(t, WithEnv(EnvStatus, "stopped"))
	run(t, f, "", "status")
	if f.Status() != "stopped" {
		t.Fatalf("status changed the state to %q", f.Status())
	}
	ok(t, f, "list")
	if r := run(t, f, "", "status"); r.stdout != "Running\n" || r.code != 0 {
		t.Errorf("after list: %q exit %d", r.stdout, r.code)
	}
}

func TestCreateAndListJSONExactBytes(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	if out := ok(t, f, "list", "-f", "json"); out != "[]\n" {
		t.Fatalf("empty list = %q, want \"[]\\n\"", out)
	}
	if out := ok(t, f, "create", "ubuntu:24.04", "dev"); out != "" {
		t.Errorf("create printed %q", out)
	}
	rec, _ := f.Machine("dev")
	if len(rec.ID) != 26 || strings.Trim(rec.ID, crockford) != "" {
		t.Errorf("id %q is not a ULID", rec.ID)
	}
	record := `{
  "id": "%s",
  "name": "dev",
  "image": {
    "distro": "ubuntu",
    "version": "noble",
    "arch": "arm64",
    "variant": "default"
  },
  "config": {
    "isolated": false,
    "default_username": "alice"
  },
  "builtin": false,
  "state": "running"
}`
	rec0 := fmt.Sprintf(record, rec.ID)
	indent := func(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }
	wantList := "[\n  " + indent(rec0) + "\n]\n"
	if out := ok(t, f, "list", "-f", "json"); out != wantList {
		t.Errorf("list -f json:\n%s\nwant:\n%s", out, wantList)
	}
	size := diskSize(f.Root("dev"))
	wantInfo := "{\n  \"record\": " + indent(rec0) +
		fmt.Sprintf(",\n  \"disk_size\": %d,\n  \"ip4\": \"127.0.0.1\",\n  \"ip6\": \"::1\"\n}\n", size)
	if out := ok(t, f, "info", "dev", "-f", "json"); out != wantInfo {
		t.Errorf("info -f json:\n%s\nwant:\n%s", out, wantInfo)
	}
	// By ID too; the bare shape on request.
	f.Set(EnvInfoShape, "bare")
	if out := ok(t, f, "info", rec.ID, "--format=json"); out != rec0+"\n" {
		t.Errorf("bare info:\n%s\nwant:\n%s", out, rec0)
	}

	// Stopped: no ip4/ip6.
	ok(t, f, "stop", "dev")
	f.Set(EnvInfoShape, "")
	out := ok(t, f, "info", "dev", "-f", "json")
	if strings.Contains(out, "ip4") || !strings.Contains(out, `"state": "stopped"`) {
		t.Errorf("stopped info: %s", out)
	}
}

func TestListText(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian:12", "b-one")
	ok(t, f, "create", "alpine", "a-two")
	ok(t, f, "stop", "a-two")
	out := ok(t, f, "list")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "a-two  ") || !strings.HasPrefix(lines[1], "b-one  ") {
		t.Fatalf("list (no header when not a tty):\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[1] != "running" || f[2] != "debian" || f[3] != "bookworm" || f[4] != "arm64" || f[len(f)-1] != "127.0.0.1" {
		t.Errorf("row %q", lines[1])
	}
	if got := ok(t, f, "list", "-q"); got != "a-two\nb-one\n" {
		t.Errorf("list -q = %q", got)
	}
	if got := ok(t, f, "list", "-r", "-q"); got != "b-one\n" {
		t.Errorf("list -r -q = %q", got)
	}
	if got := ok(t, f, "list", "-r", "-f", "json"); !strings.Contains(got, "b-one") || strings.Contains(got, "a-two") {
		t.Errorf("list -r -f json = %s", got)
	}
	wantErr(t, f, 1, "Error: invalid format: yaml", "list", "-f", "yaml")
	wantErr(t, f, 1, `Error: unknown command "extra" for "orbctl list"`, "list", "extra")

	info := ok(t, f, "info", "a-two")
	for _, want := range []string{"ID: ", "\nName: a-two\nState: stopped\n\nDistro: alpine\nVersion: 3.22\nArchitecture: arm64\nDisk usage: "} {
		if !strings.Contains(info, want) {
			t.Errorf("info text %q lacks %q", info, want)
		}
	}
	if strings.Contains(info, "IPv4") {
		t.Errorf("stopped machine shows an address: %q", info)
	}
	wantErr(t, f, 1, "[-32098] machine not found: 'nope'", "info", "nope")
	wantErr(t, f, 1, "Error: accepts 1 arg(s), received 0", "info")
}

func TestCreateDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "arch")
	ok(t, f, "create", "-a", "amd64", "--user=Bob.Smith", "debian:11", "x1.example")
	ok(t, f, "new", "gentoo", "g1")
	ok(t, f, "add", "ubuntu:26.04", "u26")
	for name, want := range map[string]ImageSpec{
		"arch":       {"archlinux", "current", "arm64", "default"},
		"x1.example": {"debian", "bullseye", "amd64", "default"},
		"g1":         {"gentoo", "current", "arm64", "openrc"},
		"u26":        {"ubuntu", "resolute", "arm64", "default"},
	} {
		r, _ := f.Machine(name)
		if r.Image != want {
			t.Errorf("%s: image %+v, want %+v", name, r.Image, want)
		}
	}
	if r, _ := f.Machine("x1.example"); r.Config.DefaultUsername != "bob_smith" {
		t.Errorf("user = %q, want normalised bob_smith", r.Config.DefaultUsername)
	}
	if _, err := os.Stat(filepath.Join(f.Root("x1.example"), "home", "bob_smith")); err != nil {
		t.Errorf("home: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(f.Root("g1"), "etc", "hostname")); string(b) != "g1\n" {
		t.Errorf("hostname %q", b)
	}

	usage := "Usage:\n  orbctl create [flags] DISTRO[:VERSION] [MACHINE_NAME]\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "windows", "w1"}, "Error: invalid distro: windows\n" + usage},
		{[]string{"create", "-a", "i386", "debian", "w1"}, "Error: invalid architecture: i386\n" + usage},
		{[]string{"create"}, "Error: accepts between 1 and 2 arg(s), received 0\n" + usage},
		{[]string{"create", "--bogus", "debian", "w1"}, "Error: unknown flag: --bogus\n"},
		{[]string{"create", "-x", "debian", "w1"}, `Error: unknown shorthand flag: 'x' in -x` + "\n"},
		{[]string{"create", "debian", "--arch"}, "Error: flag needs an argument: --arch\n"},
		{[]string{"create", "--set-password=maybe", "debian", "w1"}, `Error: invalid argument "maybe" for "-p, --set-password" flag: strconv.ParseBool: parsing "maybe": invalid syntax`},
		{[]string{"create", "debian", "x"}, "[-32098] create 'x': invalid machine name 'x'\n"},
		{[]string{"create", "debian", "a_b"}, "[-32098] create 'a_b': invalid machine name 'a_b'\n"},
		{[]string{"create", "debian", "-lead"}, "Error: unknown shorthand flag: 'l' in -lead\n"},
		{[]string{"create", "debian", "docker"}, "[-32098] create 'docker': invalid machine name 'docker'\n"},
		{[]string{"create", "debian", "arch"}, "[-32098] create 'arch': machine already exists: 'arch'\n"},
		{[]string{"create", "debian:10", "old"}, "[-32098] create 'old': make rootfs: image not found: {debian buster arm64 default}\n"},
		{[]string{"create", "ubuntu:lunar", "old"}, "[-32098] create 'old': make rootfs: image not found: {ubuntu lunar arm64 default}\n"},
		{[]string{"create", "-c", "/does/not/exist", "debian", "ci"}, "open /does/not/exist: no such file or directory\n"},
	} {
		r := run(t, f, "", tc.args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 1, stderr starting %q", tc.args, r.code, r.stderr, tc.want)
		}
		if r.stdout != "" {
			t.Errorf("%q: stdout %q", tc.args, r.stdout)
		}
	}
	// -p needs a terminal; the prompt goes to stdout first.
	r := run(t, f, "secret\n", "create", "-p", "debian", "pw")
	if r.code != 1 || r.stdout != "Password for Linux user: " || r.stderr != "inappropriate ioctl for device\n" {
		t.Errorf("create -p: %+v", r)
	}
	// Native amd64 hosts offer amd64 and i386.
	f.Set(EnvNativeArch, "amd64")
	ok(t, f, "create", "-a", "i386", "debian", "i1")
	wantErr(t, f, 1, "invalid architecture: arm64", "create", "--arch=arm64", "debian", "i2")
	if want := []string{"arch", "g1", "i1", "u26", "x1.example"}; !slices.Equal(f.Machines(), want) {
		t.Errorf("machines %v, want %v", f.Machines(), want)
	}
}

func TestCreateCloudInit(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ud := filepath.Join(t.TempDir(), "user-data.yml")
	os.WriteFile(ud, []byte("#cloud-config\npackages: [curl]\n"), 0o644)
	ok(t, f, "create", "-c", ud, "debian:bookworm", "ci")
	if r, _ := f.Machine("ci"); r.Image.Variant != "cloud" {
		t.Errorf("variant %q, want cloud", r.Image.Variant)
	}
	if b, _ := os.ReadFile(filepath.Join(f.Root("ci"), "var/lib/cloud/instance/user-data.txt")); !strings.HasPrefix(string(b), "#cloud-config") {
		t.Errorf("user data not stored: %q", b)
	}
	if r := run(t, f, "", "run", "-m", "ci", "cloud-init", "status", "--wait"); r.code != 0 || r.stdout != "status: done\n" {
		t.Errorf("cloud-init status: %+v", r)
	}
	f.Set(EnvCloudInit, "error")
	if r := run(t, f, "", "run", "-m", "ci", "cloud-init", "status", "--long"); r.code != 1 || !strings.HasPrefix(r.stdout, "status: error\n") {
		t.Errorf("cloud-init status --long with error: %+v", r)
	}
	wantErr(t, f, 1, "[-32098] create 'v1': cloud-init not supported for 'voidlinux'", "create", "-c", ud, "void", "v1")
	wantErr(t, f, 1, "[-32098] create 'n1': cloud-init not supported for 'nixos'", "create", "--user-data", ud, "nixos", "n1")
	// Without -c there is no cloud-init in the machine.
	ok(t, f, "create", "debian", "plain")
	wantErr(t, f, 127, "cloud-init: command not found", "run", "-m", "plain", "cloud-init", "status")
}

func TestVersionGates(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv(EnvVersion, "2.0.5"))
	ok(t, f, "create", "debian", "base")
	wantErr(t, f, 1, "Error: unknown flag: --isolated", "create", "--isolated", "debian", "iso")
	ok(t, f, "clone", "base", "copy")
	f.Set(EnvVersion, "2.1.0")
	ok(t, f, "create", "--isolated", "debian", "iso")
	if r, _ := f.Machine("iso"); !r.Config.Isolated {
		t.Errorf("isolated not recorded: %+v", r)
	}
	wantErr(t, f, 1, "Error: unknown flag: --cpus", "create", "--cpus", "2", "debian", "lim")
	f.Set(EnvVersion, "2.2.0")
	ok(t, f, "create", "--cpus", "2", "--memory=2048M", "--disk", "16G", "debian", "lim")
	if m := f.store().readMeta("lim"); m.CPUs != 2 || m.Memory != "2048M" || m.Disk != "16G" {
		t.Errorf("limits not recorded: %+v", m)
	}
	wantErr(t, f, 1, `invalid argument "two" for "--cpus" flag`, "create", "--cpus", "two", "debian", "lim2")
	f.Set(EnvVersion, "1.9.0")
	r := wantErr(t, f, 1, "Error: unknown command \"clone\" for \"orbctl\"\nRun 'orbctl --help' for usage.\n", "clone", "base", "c2")
	if r.stdout != "" {
		t.Errorf("stdout %q", r.stdout)
	}
	// Before 1.10 info -f json is the bare record and list has no SIZE/IP.
	if out := ok(t, f, "info", "base", "-f", "json"); !strings.HasPrefix(out, "{\n  \"id\": ") {
		t.Errorf("1.9 info: %s", out)
	}
	if out := ok(t, f, "list"); strings.Contains(out, "127.0.0.1") || strings.Contains(out, " B") {
		t.Errorf("1.9 list has SIZE/IP: %q", out)
	}
}

func TestClone(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "-u", "bob", "--isolated", "debian:12", "tmpl")
	os.WriteFile(filepath.Join(f.Root("tmpl"), "home", "bob", "data.txt"), []byte("kept"), 0o600)
	os.WriteFile(filepath.Join(f.Root("tmpl"), "tmp", "scratch"), []byte("lost"), 0o644)
	os.Symlink("data.txt", filepath.Join(f.Root("tmpl"), "home", "bob", "link"))
	ok(t, f, "clone", "tmpl", "c1")
	src, _ := f.Machine("tmpl")
	c1, _ := f.Machine("c1")
	if c1.ID == src.ID || len(c1.ID) != 26 || c1.State != "stopped" || c1.Image != src.Image || c1.Config != src.Config {
		t.Errorf("clone record %+v (source %+v)", c1, src)
	}
	if src.State != "running" {
		t.Errorf("source state %q", src.State)
	}
	if b, _ := os.ReadFile(filepath.Join(f.Root("c1"), "home", "bob", "data.txt")); string(b) != "kept" {
		t.Errorf("data not cloned: %q", b)
	}
	if fi, err := os.Stat(filepath.Join(f.Root("c1"), "home", "bob", "data.txt")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode not kept: %v %v", fi, err)
	}
	if l, _ := os.Readlink(filepath.Join(f.Root("c1"), "home", "bob", "link")); l != "data.txt" {
		t.Errorf("symlink not cloned: %q", l)
	}
	if ents, _ := os.ReadDir(filepath.Join(f.Root("c1"), "tmp")); len(ents) != 0 {
		t.Errorf("/tmp not emptied: %v", ents)
	}
	if b, _ := os.ReadFile(filepath.Join(f.Root("c1"), "etc", "hostname")); string(b) != "c1\n" {
		t.Errorf("hostname %q", b)
	}
	ok(t, f, "clone", src.ID, "c2") // by ID
	wantErr(t, f, 1, "[-32098] machine already exists: 'c1'", "clone", "tmpl", "c1")
	wantErr(t, f, 1, "[-32098] invalid machine name 'bad_name'", "clone", "tmpl", "bad_name")
	wantErr(t, f, 1, "[-32098] machine not found: 'ghost'", "clone", "ghost", "c3")
	wantErr(t, f, 1, "Error: accepts 2 arg(s), received 1", "clone", "tmpl")
	// A clone starts like any machine.
	ok(t, f, "start", "c1")
	if state(t, f, "c1") != "running" {
		t.Error("clone did not start")
	}
}

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian", "m1")
	ok(t, f, "create", "debian", "m2")
	os.WriteFile(filepath.Join(f.Root("m1"), "tmp", "x"), nil, 0o644)
	ok(t, f, "stop", "m1")
	if state(t, f, "m1") != "stopped" || state(t, f, "m2") != "running" {
		t.Fatalf("stop m1: m1 %s m2 %s", state(t, f, "m1"), state(t, f, "m2"))
	}
	if _, err := os.Stat(filepath.Join(f.Root("m1"), "tmp", "x")); err == nil {
		t.Error("/tmp survived stop")
	}
	ok(t, f, "stop", "m1") // no-op
	ok(t, f, "start", "m1", "m1")
	ok(t, f, "restart", "m1")
	r, _ := f.Machine("m2")
	ok(t, f, "shutdown", r.ID) // alias, by ID
	if state(t, f, "m1") != "running" || state(t, f, "m2") != "stopped" {
		t.Fatalf("m1 %s m2 %s", state(t, f, "m1"), state(t, f, "m2"))
	}
	ok(t, f, "start", "-a")
	if state(t, f, "m2") != "running" {
		t.Error("start -a")
	}
	ok(t, f, "stop", "--all")
	if state(t, f, "m1") != "stopped" || state(t, f, "m2") != "stopped" || f.Status() != "running" {
		t.Errorf("stop --all: m1 %s m2 %s status %s", state(t, f, "m1"), state(t, f, "m2"), f.Status())
	}
	wantErr(t, f, 1, "[-32098] machine not found: 'ghost'", "start", "ghost")
	wantErr(t, f, 1, "[-32098] machine not found: 'ghost'", "stop", "ghost")
	wantErr(t, f, 1, "Error: no machines specified", "restart")
	r2 := run(t, f, "", "start")
	if r2.code != 0 || r2.stderr != "OrbStack is already running. Docker engine is ready to use.\nUse --all to start all machines.\n" {
		t.Errorf("bare start: %+v", r2)
	}
}

func TestBareStopStopsEverything(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian", "m1")
	ok(t, f, "create", "debian", "m2")
	if r := run(t, f, "", "stop"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("bare stop: %+v", r)
	}
	if state(t, f, "m1") != "stopped" || state(t, f, "m2") != "stopped" {
		t.Errorf("after bare stop: m1 %s m2 %s", state(t, f, "m1"), state(t, f, "m2"))
	}
	if r := run(t, f, "", "status"); r.stdout != "Stopped\n" || r.code != 1 {
		t.Errorf("status after bare stop: %+v", r)
	}
	// While OrbStack is down, stop/restart NAME say so and succeed.
	for _, args := range [][]string{{"stop", "m1"}, {"restart", "m1"}, {"stop"}} {
		if r := run(t, f, "", args...); r.code != 0 || r.stderr != "OrbStack is not running\n" {
			t.Errorf("%q while stopped: %+v", args, r)
		}
	}
	// Bare start brings OrbStack back; the machines stay stopped.
	if r := run(t, f, "", "start"); r.code != 0 || r.stderr != "" {
		t.Errorf("bare start while stopped: %+v", r)
	}
	if f.Status() != "running" || state(t, f, "m1") != "stopped" {
		t.Errorf("after bare start: status %s m1 %s", f.Status(), state(t, f, "m1"))
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	for _, n := range []string{"d1", "d2", "d3", "d4"} {
		ok(t, f, "create", "debian", n)
	}
	// Unknown names abort before anything is deleted.
	r := wantErr(t, f, 1, "[-32098] machine not found: 'ghost'", "delete", "-f", "d1", "ghost")
	if r.stderr != "[-32098] machine not found: 'ghost'\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	if len(f.Machines()) != 4 {
		t.Fatalf("something was deleted: %v", f.Machines())
	}
	wantErr(t, f, 1, "Error: no machines specified\nUsage:\n  orbctl delete [flags] [ID/NAME]...\n", "delete")
	wantErr(t, f, 1, "Error: no machines specified", "delete", "-f")

	ok(t, f, "delete", "-f", "d1", "d2")
	if want := []string{"d3", "d4"}; !slices.Equal(f.Machines(), want) {
		t.Fatalf("machines %v, want %v", f.Machines(), want)
	}
	// By ID: orbctl 2.2.3 crashes (exit 2) after deleting the names before it.
	d3, _ := f.Machine("d3")
	r = run(t, f, "", "delete", "-f", "d4", d3.ID)
	if r.code != 2 || !strings.HasPrefix(r.stderr, "panic: runtime error: invalid memory address or nil pointer dereference\n") ||
		!strings.Contains(r.stderr, "scon/cmd/scli/cmd/delete.go:141") {
		t.Errorf("delete by ID: %+v", r)
	}
	if want := []string{"d3"}; !slices.Equal(f.Machines(), want) {
		t.Errorf("machines %v, want %v", f.Machines(), want)
	}
	ok(t, f, "create", "debian", "d5")
	ok(t, f, "delete", "-a")
	if len(f.Machines()) != 0 {
		t.Errorf("delete -a left %v", f.Machines())
	}
	if ents, _ := os.ReadDir(filepath.Join(f.Dir, "trash")); len(ents) != 0 {
		t.Errorf("trash not emptied: %v", ents)
	}
	ok(t, f, "create", "debian", "d1") // the name is free again
}

func TestRenameAndDefault(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	r := run(t, f, "", "default")
	if r.code != 0 || r.stderr != "No default machine set. (will pick most recently-used machine)\n" {
		t.Errorf("default with no machines: %+v", r)
	}
	ok(t, f, "create", "debian", "first")
	ok(t, f, "create", "debian", "second")
	if out := ok(t, f, "default"); out != "first\n" {
		t.Errorf("default = %q, want first (the first machine created)", out)
	}
	first, _ := f.Machine("first")
	ok(t, f, "rename", "first", "renamed")
	if r, ok := f.Machine("renamed"); !ok || r.ID != first.ID {
		t.Errorf("rename lost the ID: %+v", r)
	}
	if out := ok(t, f, "default"); out != "renamed\n" {
		t.Errorf("default after rename = %q", out)
	}
	wantErr(t, f, 1, `[-32098] machine '"second"' already exists`, "rename", "renamed", "second")
	ok(t, f, "default", "second")
	if out := ok(t, f, "run", "sh", "-c", "echo $ORB_MACHINE"); out != "second\n" {
		t.Errorf("run without -m used %q, want the default machine", out)
	}
}

func TestUnknownAndHelp(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	r := wantErr(t, f, 1, "", "frobnicate")
	if r.stderr != "Error: unknown command \"frobnicate\" for \"orbctl\"\nRun 'orbctl --help' for usage.\n" {
		t.Errorf("unknown command: %q", r.stderr)
	}
	wantErr(t, f, 1, "not implemented by the fake", "config", "show")
	for _, args := range [][]string{{}, {"--help"}, {"help", "create"}, {"create", "--help"}, {"run", "-h"}, {"delete", "-h"}} {
		r := run(t, f, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
			t.Errorf("%q: %+v", args, r)
		}
	}
	if len(f.Machines()) != 0 {
		t.Errorf("help created something")
	}
}

func TestCallLog(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv("ORBENV", "FOO:BAR"))
	ok(t, f, "create", "debian", "m1")
	ok(t, f, "run", "-m", "m1", "true")
	ok(t, f, "list", "-f", "json")
	ok(t, f, "run", "-m", "m1", "echo", "a b", "'c'")
	calls := f.Calls()
	if len(calls) != 4 {
		t.Fatalf("%d calls: %+v", len(calls), calls)
	}
	if want := []string{"run", "-m", "m1", "echo", "a b", "'c'"}; !slices.Equal(calls[3].Argv, want) {
		t.Errorf("argv %q, want %q", calls[3].Argv, want)
	}
	if calls[0].EnvOrbenv != "FOO:BAR" || calls[0].Time.IsZero() {
		t.Errorf("call %+v", calls[0])
	}
	if n := f.CountCalls("run"); n != 2 {
		t.Errorf("CountCalls(run) = %d", n)
	}
	if n := f.CountCalls("delete"); n != 0 {
		t.Errorf("CountCalls(delete) = %d", n)
	}
}

func TestEnvAndSetenv(t *testing.T) {
	f := New(t, WithEnv(EnvVersion, "2.1.0"), WithEnv(EnvUser, "zed"))
	env := f.Env()
	if env[0] != EnvState+"="+f.Dir || !slices.Contains(env, EnvVersion+"=2.1.0") {
		t.Errorf("Env() = %q", env)
	}
	f.Setenv(t)
	out, err := execOutput("orbctl", "version")
	if err != nil || !strings.HasPrefix(out, "Version: 2.1.0 (2010000)\n") {
		t.Errorf("orbctl by name through PATH: %q %v", out, err)
	}
}

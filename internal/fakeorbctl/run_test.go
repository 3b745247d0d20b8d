package fakeorbctl

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseRunFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    runOpts
		rest    []string
		wantErr string
	}{
		{[]string{"uname", "-a"}, runOpts{}, []string{"uname", "-a"}, ""},
		{[]string{"-m", "foo", "uname", "-a", "--shell"}, runOpts{machine: "foo"}, []string{"uname", "-a", "--shell"}, ""},
		{[]string{"--machine=foo", "-u", "root", "-w", "/srv", "-s", "ls"}, runOpts{machine: "foo", user: "root", workdir: "/srv", shell: true}, []string{"ls"}, ""},
		{[]string{"--machine", "-ubuntu", "id"}, runOpts{machine: "-ubuntu"}, []string{"id"}, ""},
		{[]string{"-shell=true", "-p", "x"}, runOpts{shell: true, path: true}, []string{"x"}, ""},
		{[]string{"--unknown=1", "x"}, runOpts{}, []string{"x"}, ""}, // pairs with unknown keys are ignored
		{[]string{"-m", "foo"}, runOpts{machine: "foo"}, []string{}, ""},
		{[]string{}, runOpts{}, []string{}, ""},
		{[]string{"-m", "foo", "--", "true"}, runOpts{}, nil, "unknown flag --"},
		{[]string{"-x", "true"}, runOpts{}, nil, "unknown flag -x"},
		{[]string{"-m"}, runOpts{}, nil, "missing value for flag -m"},
	} {
		o, rest, err := parseRunFlags(tc.args)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: err %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || o != tc.want || !slices.Equal(rest, tc.rest) {
			t.Errorf("%q: %+v %q %v; want %+v %q", tc.args, o, rest, err, tc.want, tc.rest)
		}
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	r := run(t, f, "", "run", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "To create a Linux machine:\n    orb create ubuntu\n") {
		t.Errorf("run with no machines: %+v", r)
	}
	ok(t, f, "create", "debian", "m1")
	root := f.Root("m1")

	// Working directory: the user's home, or -w (absolute in the machine, created).
	if out := ok(t, f, "run", "-m", "m1", "pwd"); out != filepath.Join(root, "home", "alice")+"\n" {
		t.Errorf("pwd = %q", out)
	}
	if out := ok(t, f, "run", "-m", "m1", "-w", "/srv/app", "pwd"); out != filepath.Join(root, "srv", "app")+"\n" {
		t.Errorf("pwd -w = %q", out)
	}
	if out := ok(t, f, "run", "-m", "m1", "-u", "root", "pwd"); out != filepath.Join(root, "root")+"\n" {
		t.Errorf("pwd -u root = %q", out)
	}

	// A clean environment, plus what ORBENV forwards.
	f.Set("ORBENV", "FOO:MISSING")
	f.Set("FOO", "bar baz")
	f.Set("LEAKED", "no")
	out := ok(t, f, "run", "-m", "m1", "-u", "bob", "env")
	got := strings.Split(strings.TrimSpace(out), "\n")
	slices.Sort(got)
	want := []string{
		"FOO=bar baz",
		"HOME=" + filepath.Join(root, "home", "bob"),
		"LOGNAME=bob",
		"ORB_MACHINE=m1",
		"PATH=" + filepath.Join(root, "usr/local/bin") + ":" + filepath.Join(root, "usr/bin") + ":" + f.pathVar(),
		"USER=bob",
	}
	if !slices.Equal(got, want) {
		t.Errorf("env:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Exit codes, stdin byte-exact, arguments verbatim.
	if r := run(t, f, "", "run", "-m", "m1", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exit 7 -> %d", r.code)
	}
	in := "line 1\n\x00binary\r\nno newline at end"
	if r := run(t, f, in, "run", "-m", "m1", "cat"); r.stdout != in || r.code != 0 {
		t.Errorf("stdin not forwarded byte-exact: %q", r.stdout)
	}
	if out := ok(t, f, "run", "-m", "m1", "printf", "[%s]", "a b", "-c", "--", "$HOME"); out != "[a b][-c][--][$HOME]" {
		t.Errorf("args = %q", out)
	}
	if out := ok(t, f, "run", "-m", "m1", "-s", "echo", "$USER", "&&", "echo", "two"); out != "alice\ntwo\n" {
		t.Errorf("-s = %q", out)
	}
	wantErr(t, f, 127, "no-such-program: command not found", "run", "-m", "m1", "no-such-program")
	os.WriteFile(filepath.Join(root, "home", "alice", "noexec.sh"), []byte("#!/bin/sh\n"), 0o644)
	wantErr(t, f, 126, "./noexec.sh: permission denied", "run", "-m", "m1", "./noexec.sh")

	// Programs in the machine: relative, absolute (machine first), on PATH.
	os.WriteFile(filepath.Join(root, "home", "alice", "hello.sh"), []byte("#!/bin/sh\necho hello from $0\n"), 0o755)
	if out := ok(t, f, "run", "-m", "m1", "./hello.sh"); !strings.HasPrefix(out, "hello from ") {
		t.Errorf("relative program: %q", out)
	}
	if out := ok(t, f, "run", "-m", "m1", "/home/alice/hello.sh"); !strings.HasPrefix(out, "hello from "+root) {
		t.Errorf("absolute program: %q", out)
	}
	if out := ok(t, f, "run", "-m", "m1", "/bin/sh", "-c", "echo host sh"); out != "host sh\n" {
		t.Errorf("host program: %q", out)
	}

	// "--" is a flag to orbctl run, and rejected.
	r = wantErr(t, f, 1, "Error: unknown flag --\n", "run", "-m", "m1", "--", "true")
	if !strings.Contains(r.stderr, "Usage:\n  orbctl run [flags] -- [COMMAND] [ARGS]...") {
		t.Errorf("no usage: %q", r.stderr)
	}
	wantErr(t, f, 1, "Error: missing value for flag -w", "run", "-m", "m1", "-w")

	// Unknown machine; aliases.
	r = wantErr(t, f, 1, "[-32098] machine not found: 'ghost'", "run", "-m", "ghost", "true")
	if r.stderr != "\n[-32098] machine not found: 'ghost'\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	ok(t, f, "exec", "-m", "m1", "true")
	ok(t, f, "shell", "-m", "m1", "true")
}

func TestRunAutoStartsAndSystemctl(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian", "m1")
	ok(t, f, "stop")
	if out := ok(t, f, "run", "-m", "m1", "systemctl", "is-system-running", "--wait"); out != "running\n" {
		t.Errorf("is-system-running = %q", out)
	}
	if state(t, f, "m1") != "running" || f.Status() != "running" {
		t.Errorf("run did not start the machine: %s, OrbStack %s", state(t, f, "m1"), f.Status())
	}
	f.Set(EnvSystemd, "degraded")
	if r := run(t, f, "", "run", "-m", "m1", "systemctl", "--wait", "is-system-running"); r.code != 1 || r.stdout != "degraded\n" {
		t.Errorf("degraded: %+v", r)
	}
	ok(t, f, "run", "-m", "m1", "systemctl", "restart", "nginx")
}

// TestRunKilledClient: a killed "orbctl run" leaves its command running in
// a session of its own; only signalling the command ends it.
func TestRunKilledClient(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("skipping test: needs /proc")
	}
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian", "m1")
	word := fmt.Sprintf("1001.%d", os.Getpid())
	cmd := f.Command("run", "-m", "m1", "sh", "-c", "echo started; exec sleep "+word)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	// The client notes the command's session right after starting it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if ents, _ := os.ReadDir(filepath.Join(f.Dir, "machines", "m1", "sessions")); len(ents) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client noted no session")
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	pid := pidOf(t, word)
	if pid == 0 {
		t.Fatal("the command ended with its client; want it running")
	}
	if sid := statField(t, pid, 5); sid != strconv.Itoa(pid) {
		t.Errorf("the command's session is %s, want its own (%d)", sid, pid)
	}
	// Deleting the machine ends what it still runs, as stopping it does.
	ok(t, f, "delete", "-f", "m1")
	// (An ended process whose parent does not reap it is a zombie, with
	// no command line.)
	for deadline := time.Now().Add(5 * time.Second); pidOf(t, word) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatal("the command outlived its deleted machine")
		}
	}
}

// pidOf is the pid of the process whose command line holds word, or 0.
func pidOf(t *testing.T, word string) int {
	t.Helper()
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), word) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			return pid
		}
	}
	return 0
}

// statField is field n (1-based: 5 is the session) of /proc/PID/stat.
func statField(t *testing.T, pid, n int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	return fields[n-3]
}

func TestBootIDIsNewAtEachBoot(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian", "m1")
	ok(t, f, "create", "debian", "m2")
	boot := func(name string) string { return ok(t, f, "run", "-m", name, "cat", "/proc/sys/kernel/random/boot_id") }
	first := boot("m1")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$`).MatchString(first) {
		t.Fatalf("boot id %q is not in the form Linux prints", first)
	}
	if boot("m1") != first {
		t.Error("the boot id changed without a boot")
	}
	if boot("m2") == first {
		t.Error("two machines share a boot id")
	}
	ok(t, f, "restart", "m1")
	restarted := boot("m1")
	if restarted == first {
		t.Error("restart kept the boot id")
	}
	ok(t, f, "stop", "m1")
	ok(t, f, "start", "m1")
	if again := boot("m1"); again == restarted {
		t.Error("stop and start kept the boot id")
	}
}

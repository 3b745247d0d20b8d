package orbctl

import (
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
)

func TestCreateArgs(t *testing.T) {
	tests := []struct {
		reason    string
		name      string
		spec      backend.Spec
		userData  string
		features  Features
		want      []string
		wantClass error
		wantMsg   string
	}{
		{
			reason: "minimal machines are isolated by default on 2.2",
			name:   "t1", spec: backend.Spec{Distro: "debian"}, features: f2_2,
			want: []string{"create", "--isolated", "debian", "t1"},
		},
		{
			reason: "isolated from 2.1",
			name:   "t1", spec: backend.Spec{Distro: "debian"}, features: f2_1,
			want: []string{"create", "--isolated", "debian", "t1"},
		},
		{
			reason: "before 2.1 machines are created without --isolated, not refused",
			name:   "t1", spec: backend.Spec{Distro: "debian"}, features: f2_0,
			want: []string{"create", "debian", "t1"},
		},
		{
			reason: "host access drops --isolated",
			name:   "t1", spec: backend.Spec{Distro: "debian", HostAccess: true}, features: f2_2,
			want: []string{"create", "debian", "t1"},
		},
		{
			reason: "zero Features allow nothing optional",
			name:   "t1", spec: backend.Spec{Distro: "alpine"}, features: Features{},
			want: []string{"create", "alpine", "t1"},
		},
		{
			reason: "version is joined to the distro with a colon",
			name:   "t1", spec: backend.Spec{Distro: "ubuntu", Version: "24.04"}, features: f2_0,
			want: []string{"create", "ubuntu:24.04", "t1"},
		},
		{
			reason: "codename version",
			name:   "t1", spec: backend.Spec{Distro: "centos", Version: "9-Stream"}, features: f2_0,
			want: []string{"create", "centos:9-Stream", "t1"},
		},
		{
			reason: "arch flag",
			name:   "t1", spec: backend.Spec{Distro: "fedora", Arch: "amd64"}, features: f2_0,
			want: []string{"create", "-a", "amd64", "fedora", "t1"},
		},
		{
			reason: "i386 is a valid arch on Intel hosts",
			name:   "t1", spec: backend.Spec{Distro: "debian", Arch: "i386"}, features: f2_0,
			want: []string{"create", "-a", "i386", "debian", "t1"},
		},
		{
			reason: "user flag",
			name:   "t1", spec: backend.Spec{Distro: "debian", User: "alice"}, features: f2_0,
			want: []string{"create", "-u", "alice", "debian", "t1"},
		},
		{
			reason: "user data file flag",
			name:   "t1", spec: backend.Spec{Distro: "debian", CloudInit: []byte("#cloud-config\n")}, userData: "/tmp/ud.yaml", features: f2_0,
			want: []string{"create", "-c", "/tmp/ud.yaml", "debian", "t1"},
		},
		{
			reason: "cpus only",
			name:   "t1", spec: backend.Spec{Distro: "debian", CPUs: 4}, features: f2_2,
			want: []string{"create", "--isolated", "--cpus", "4", "debian", "t1"},
		},
		{
			reason: "memory only, in MiB",
			name:   "t1", spec: backend.Spec{Distro: "debian", MemoryMiB: 2048}, features: f2_2,
			want: []string{"create", "--isolated", "--memory", "2048M", "debian", "t1"},
		},
		{
			reason: "disk only, in MiB",
			name:   "t1", spec: backend.Spec{Distro: "debian", DiskMiB: 16384}, features: f2_2,
			want: []string{"create", "--isolated", "--disk", "16384M", "debian", "t1"},
		},
		{
			reason: "every option, flags before positionals in a fixed order",
			name:   "orbtest-1",
			spec: backend.Spec{Distro: "ubuntu", Version: "noble", Arch: "arm64", User: "bob", CloudInit: []byte("x"),
				CPUs: 2, MemoryMiB: 1024, DiskMiB: 8192},
			userData: "/tmp/u", features: f2_2,
			want: []string{"create", "-a", "arm64", "-u", "bob", "-c", "/tmp/u", "--isolated",
				"--cpus", "2", "--memory", "1024M", "--disk", "8192M", "ubuntu:noble", "orbtest-1"},
		},
		{
			reason: "limits need 2.2",
			name:   "t1", spec: backend.Spec{Distro: "debian", CPUs: 2}, features: f2_1,
			wantClass: backend.ErrUnsupported, wantMsg: "cpu/memory/disk limits need OrbStack 2.2 or later; installed 2.1.3",
		},
		{
			reason: "memory limit on 2.0 names both versions",
			name:   "t1", spec: backend.Spec{Distro: "debian", MemoryMiB: 512}, features: f2_0,
			wantClass: backend.ErrUnsupported, wantMsg: "cpu/memory/disk limits need OrbStack 2.2 or later; installed 2.0.4",
		},
		{
			reason: "disk limit with unknown version",
			name:   "t1", spec: backend.Spec{Distro: "debian", DiskMiB: 512}, features: Features{},
			wantClass: backend.ErrUnsupported, wantMsg: "installed unknown",
		},
		{
			reason: "cloud-init needs 1.3",
			name:   "t1", spec: backend.Spec{Distro: "debian", CloudInit: []byte("x")}, userData: "/tmp/u", features: f1_2,
			wantClass: backend.ErrUnsupported, wantMsg: "cloud-init user data needs OrbStack 1.3 or later; installed 1.2.0",
		},
		{
			reason: "cloud-init data without a file would be dropped silently",
			name:   "t1", spec: backend.Spec{Distro: "debian", CloudInit: []byte("x")}, features: f2_2,
			wantClass: backend.ErrInvalid, wantMsg: "no user data file",
		},
		{
			reason: "user data path that looks like a flag",
			name:   "t1", spec: backend.Spec{Distro: "debian"}, userData: "-x", features: f2_2,
			wantClass: backend.ErrInvalid, wantMsg: "starts with '-'",
		},
		{reason: "negative cpus", name: "t1", spec: backend.Spec{Distro: "debian", CPUs: -1}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "negative"},
		{reason: "negative memory", name: "t1", spec: backend.Spec{Distro: "debian", MemoryMiB: -1}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "negative"},
		{reason: "negative disk", name: "t1", spec: backend.Spec{Distro: "debian", DiskMiB: -5}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "negative"},
		{reason: "empty distro", name: "t1", spec: backend.Spec{}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "distro"},
		{reason: "unknown distro", name: "t1", spec: backend.Spec{Distro: "amazon"}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: `distro "amazon"`},
		{reason: "image name is not a CLI distro", name: "t1", spec: backend.Spec{Distro: "archlinux"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "distro names are lower case", name: "t1", spec: backend.Spec{Distro: "Ubuntu"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "version belongs in Version", name: "t1", spec: backend.Spec{Distro: "ubuntu:noble"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "distro as a flag", name: "t1", spec: backend.Spec{Distro: "--isolated"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "version with a colon", name: "t1", spec: backend.Spec{Distro: "ubuntu", Version: "a:b"}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "distro version"},
		{reason: "version with a space", name: "t1", spec: backend.Spec{Distro: "ubuntu", Version: "24.04 x"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "version starting with a dash", name: "t1", spec: backend.Spec{Distro: "ubuntu", Version: "-rc"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "unknown arch", name: "t1", spec: backend.Spec{Distro: "debian", Arch: "x86_64"}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "architecture"},
		{reason: "arch as a flag", name: "t1", spec: backend.Spec{Distro: "debian", Arch: "-u"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "user as a flag", name: "t1", spec: backend.Spec{Distro: "debian", User: "-x"}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "user"},
		{reason: "user as a long flag", name: "t1", spec: backend.Spec{Distro: "debian", User: "--isolated"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "user with a space", name: "t1", spec: backend.Spec{Distro: "debian", User: "a b"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "user too long", name: "t1", spec: backend.Spec{Distro: "debian", User: strings.Repeat("u", 33)}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "empty name", name: "", spec: backend.Spec{Distro: "debian"}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "machine name is empty"},
		{reason: "name as a flag", name: "-x", spec: backend.Spec{Distro: "debian"}, features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "reserved name", name: "docker", spec: backend.Spec{Distro: "debian"}, features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "reserved"},
	}
	for _, tt := range tests {
		got, err := CreateArgs(tt.name, tt.spec, tt.userData, tt.features)
		checkErr(t, tt.reason, err, tt.wantClass, tt.wantMsg)
		if d := diff(tt.want, got); tt.wantClass == nil && d != "" {
			t.Errorf("%s: CreateArgs %s", tt.reason, d)
		}
	}
}

func TestCloneArgs(t *testing.T) {
	tests := []struct {
		reason    string
		src, dst  string
		features  Features
		want      []string
		wantClass error
		wantMsg   string
	}{
		{reason: "clone on 2.0", src: "tpl", dst: "t1", features: f2_0, want: []string{"clone", "tpl", "t1"}},
		{reason: "clone on 2.2", src: "tpl", dst: "t1", features: f2_2, want: []string{"clone", "tpl", "t1"}},
		{reason: "clone needs 2.0", src: "tpl", dst: "t1", features: f1_11, wantClass: backend.ErrUnsupported, wantMsg: "machine clones need OrbStack 2.0 or later; installed 1.11.3"},
		{reason: "empty source", src: "", dst: "t1", features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "clone source"},
		{reason: "empty destination", src: "tpl", dst: "", features: f2_2, wantClass: backend.ErrInvalid, wantMsg: "clone destination"},
		{reason: "flag-like destination", src: "tpl", dst: "-f", features: f2_2, wantClass: backend.ErrInvalid},
		{reason: "reserved source", src: "docker", dst: "t1", features: f2_2, wantClass: backend.ErrInvalid},
	}
	for _, tt := range tests {
		got, err := CloneArgs(tt.src, tt.dst, tt.features)
		checkErr(t, tt.reason, err, tt.wantClass, tt.wantMsg)
		if d := diff(tt.want, got); tt.wantClass == nil && d != "" {
			t.Errorf("%s: CloneArgs %s", tt.reason, d)
		}
	}
}

func TestNameOnlyArgs(t *testing.T) {
	builders := []struct {
		verb  string
		build func(string) ([]string, error)
		want  func(name string) []string
	}{
		{"start", StartArgs, func(n string) []string { return []string{"start", n} }},
		{"stop", StopArgs, func(n string) []string { return []string{"stop", n} }},
		{"restart", RestartArgs, func(n string) []string { return []string{"restart", n} }},
		{"delete", DeleteArgs, func(n string) []string { return []string{"delete", "-f", n} }},
		{"info", InfoArgs, func(n string) []string { return []string{"info", n, "-f", "json"} }},
	}
	names := []struct {
		name   string
		ok     bool
		reason string
	}{
		{"orbtest-a-1", true, "valid name"},
		{"", false, "empty name: a bare stop or start acts on all of OrbStack"},
		{"-a", false, "would be read as --all"},
		{"--all", false, "would be read as --all"},
		{"k8s", false, "builtin machines are never touched"},
		{"a b", false, "would split into two arguments in a shell"},
	}
	for _, b := range builders {
		for _, n := range names {
			got, err := b.build(n.name)
			reason := b.verb + ": " + n.reason
			if !n.ok {
				checkErr(t, reason, err, backend.ErrInvalid, "")
				continue
			}
			checkErr(t, reason, err, nil, "")
			if d := diff(b.want(n.name), got); d != "" {
				t.Errorf("%s: %s", reason, d)
			}
		}
	}
}

func TestFixedArgs(t *testing.T) {
	tests := []struct {
		reason string
		got    []string
		want   []string
	}{
		{"list asks for json", ListArgs(), []string{"list", "-f", "json"}},
		{"status takes no machine", StatusArgs(), []string{"status"}},
		{"version", VersionArgs(), []string{"version"}},
	}
	for _, tt := range tests {
		if d := diff(tt.want, tt.got); d != "" {
			t.Errorf("%s: %s", tt.reason, d)
		}
	}
}

func TestRunArgs(t *testing.T) {
	tests := []struct {
		reason     string
		name, user string
		dir        string
		argv       []string
		want       []string
		wantClass  error
		wantMsg    string
	}{
		{reason: "always -m", name: "m1", argv: []string{"uname", "-a"}, want: []string{"run", "-m", "m1", "uname", "-a"}},
		{reason: "user", name: "m1", user: "root", argv: []string{"id"}, want: []string{"run", "-m", "m1", "-u", "root", "id"}},
		{reason: "workdir", name: "m1", dir: "/srv/app", argv: []string{"pwd"}, want: []string{"run", "-m", "m1", "-w", "/srv/app", "pwd"}},
		{reason: "user then workdir, all before the command", name: "m1", user: "alice", dir: "/tmp", argv: []string{"ls"},
			want: []string{"run", "-m", "m1", "-u", "alice", "-w", "/tmp", "ls"}},
		{reason: "arguments after the command pass verbatim, flags and -- included", name: "m1",
			argv: []string{"git", "log", "--", "-x", "--shell", "-m", "other"},
			want: []string{"run", "-m", "m1", "git", "log", "--", "-x", "--shell", "-m", "other"}},
		{reason: "shell syntax is one argument", name: "m1", argv: []string{"sh", "-c", "echo $HOME && true"},
			want: []string{"run", "-m", "m1", "sh", "-c", "echo $HOME && true"}},
		{reason: "empty arguments after the command are kept", name: "m1", argv: []string{"printf", ""},
			want: []string{"run", "-m", "m1", "printf", ""}},
		{reason: "command names that are orbctl subcommands are fine with run", name: "m1", argv: []string{"list"},
			want: []string{"run", "-m", "m1", "list"}},
		{reason: "nil argv", name: "m1", argv: nil, wantClass: backend.ErrInvalid, wantMsg: "command is empty"},
		{reason: "empty command", name: "m1", argv: []string{""}, wantClass: backend.ErrInvalid, wantMsg: "command is empty"},
		{reason: "command starting with a dash", name: "m1", argv: []string{"-x"}, wantClass: backend.ErrInvalid, wantMsg: "starts with '-'"},
		{reason: "-- as the command: orbctl rejects it", name: "m1", argv: []string{"--", "ls"}, wantClass: backend.ErrInvalid},
		{reason: "NUL in an argument", name: "m1", argv: []string{"echo", "a\x00b"}, wantClass: backend.ErrInvalid, wantMsg: "NUL"},
		{reason: "empty machine would hit the default machine", name: "", argv: []string{"true"}, wantClass: backend.ErrInvalid, wantMsg: "machine name is empty"},
		{reason: "user as a flag", name: "m1", user: "-x", argv: []string{"true"}, wantClass: backend.ErrInvalid, wantMsg: "user"},
		{reason: "user with a space", name: "m1", user: "a b", argv: []string{"true"}, wantClass: backend.ErrInvalid},
		{reason: "dir as a flag", name: "m1", dir: "--foo", argv: []string{"true"}, wantClass: backend.ErrInvalid, wantMsg: "working directory"},
		{reason: "relative dir", name: "m1", dir: "srv", argv: []string{"true"}, wantClass: backend.ErrInvalid, wantMsg: "absolute"},
		{reason: "dir with NUL", name: "m1", dir: "/a\x00", argv: []string{"true"}, wantClass: backend.ErrInvalid},
	}
	for _, tt := range tests {
		got, err := RunArgs(tt.name, tt.user, tt.dir, tt.argv)
		checkErr(t, tt.reason, err, tt.wantClass, tt.wantMsg)
		if d := diff(tt.want, got); tt.wantClass == nil && d != "" {
			t.Errorf("%s: RunArgs %s", tt.reason, d)
		}
	}
}

func TestRunArgsDoesNotAliasArgv(t *testing.T) {
	argv := make([]string, 1, 8)
	argv[0] = "true"
	got, err := RunArgs("m1", "", "", argv)
	if err != nil {
		t.Fatal(err)
	}
	got[3] = "changed"
	if argv[0] != "true" {
		t.Errorf("RunArgs result shares memory with the caller's argv")
	}
}

func TestCopyArgs(t *testing.T) {
	tests := []struct {
		reason    string
		build     func(name, a, b string) ([]string, error)
		name      string
		a, b      string
		want      []string
		wantClass error
		wantMsg   string
	}{
		{reason: "push host to guest", build: PushArgs, name: "m1", a: "/Users/me/f.txt", b: "/tmp/f.txt",
			want: []string{"push", "-m", "m1", "/Users/me/f.txt", "/tmp/f.txt"}},
		{reason: "push relative host path", build: PushArgs, name: "m1", a: "./f.txt", b: "/tmp/f.txt",
			want: []string{"push", "-m", "m1", "./f.txt", "/tmp/f.txt"}},
		{reason: "pull guest to host", build: PullArgs, name: "m1", a: "/etc/os-release", b: "/tmp/out",
			want: []string{"pull", "-m", "m1", "/etc/os-release", "/tmp/out"}},
		{reason: "push host path as a flag", build: PushArgs, name: "m1", a: "-m", b: "/tmp/x", wantClass: backend.ErrInvalid, wantMsg: "host path"},
		{reason: "push empty host path", build: PushArgs, name: "m1", a: "", b: "/tmp/x", wantClass: backend.ErrInvalid},
		{reason: "push relative guest path", build: PushArgs, name: "m1", a: "/a", b: "x", wantClass: backend.ErrInvalid, wantMsg: "guest path"},
		{reason: "push guest path as a flag", build: PushArgs, name: "m1", a: "/a", b: "-x", wantClass: backend.ErrInvalid},
		{reason: "push empty machine", build: PushArgs, name: "", a: "/a", b: "/b", wantClass: backend.ErrInvalid},
		{reason: "pull relative guest path", build: PullArgs, name: "m1", a: "etc/x", b: "/tmp/x", wantClass: backend.ErrInvalid, wantMsg: "guest path"},
		{reason: "pull empty guest path", build: PullArgs, name: "m1", a: "", b: "/tmp/x", wantClass: backend.ErrInvalid},
		{reason: "pull host path as a flag", build: PullArgs, name: "m1", a: "/etc/x", b: "--all", wantClass: backend.ErrInvalid, wantMsg: "host path"},
		{reason: "pull host path with NUL", build: PullArgs, name: "m1", a: "/etc/x", b: "/tmp/\x00", wantClass: backend.ErrInvalid},
		{reason: "pull empty machine", build: PullArgs, name: "", a: "/a", b: "/b", wantClass: backend.ErrInvalid},
	}
	for _, tt := range tests {
		got, err := tt.build(tt.name, tt.a, tt.b)
		checkErr(t, tt.reason, err, tt.wantClass, tt.wantMsg)
		if d := diff(tt.want, got); tt.wantClass == nil && d != "" {
			t.Errorf("%s: %s", tt.reason, d)
		}
	}
}

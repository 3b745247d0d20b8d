package orbctl

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// FuzzRunArgs checks that no input makes RunArgs lose its -m, add a "--",
// put a flag in the command position, or produce more or fewer arguments
// than the flags and argv it was given.
func FuzzRunArgs(f *testing.F) {
	f.Add("m1", "", "", "uname", "-a", "", uint8(2))
	f.Add("m1", "root", "/srv", "sh", "-c", "echo hi", uint8(3))
	f.Add("m1", "-x", "--foo", "--", "ls", "", uint8(2))
	f.Add("", "u", "/", "-m", "x", "", uint8(1))
	f.Add("m1", "u", "rel", "", "", "", uint8(0))
	f.Add("m1", "a b", "/a b", "git", "--", "-x", uint8(3))
	f.Fuzz(func(t *testing.T, name, user, dir, a0, a1, a2 string, n uint8) {
		argv := []string{a0, a1, a2}[:n%4]
		args, err := RunArgs(name, user, dir, argv)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(argv) == 0 || argv[0] == "" || strings.HasPrefix(argv[0], "-") {
			t.Fatalf("RunArgs accepted command %q: %q", argv, args)
		}
		if name == "" || ValidateName(name) != nil {
			t.Fatalf("RunArgs accepted machine %q", name)
		}
		if len(args) < 3 || args[0] != "run" || args[1] != "-m" || args[2] != name {
			t.Fatalf("args %q do not start with run -m %q", args, name)
		}
		flags := 3
		if user != "" {
			flags += 2
		}
		if dir != "" {
			flags += 2
		}
		if want := flags + len(argv); len(args) != want {
			t.Fatalf("RunArgs(%q, %q, %q, %q) = %q: %d args, want %d", name, user, dir, argv, args, len(args), want)
		}
		for i := 3; i < flags; i += 2 {
			if args[i] != "-u" && args[i] != "-w" {
				t.Fatalf("unexpected flag %q in %q", args[i], args)
			}
			if v := args[i+1]; v == "" || strings.HasPrefix(v, "-") {
				t.Fatalf("flag value %q in %q looks like a flag", v, args)
			}
		}
		if slices.Contains(args[:flags], "--") {
			t.Fatalf("args %q contain -- before the command", args)
		}
		if cmd := args[flags]; cmd == "" || strings.HasPrefix(cmd, "-") {
			t.Fatalf("command token %q in %q", cmd, args)
		}
		if !slices.Equal(args[flags:], argv) {
			t.Fatalf("argv %q was not passed verbatim: %q", argv, args)
		}
	})
}

// FuzzCreateArgs checks that CreateArgs only ever produces known flags with
// values that do not look like flags, followed by exactly DISTRO[:VERSION]
// and NAME.
func FuzzCreateArgs(f *testing.F) {
	f.Add("t1", "debian", "bookworm", "arm64", "alice", "/tmp/u", 2, 1024, 4096, false, uint8(4))
	f.Add("t1", "ubuntu", "", "", "", "", 0, 0, 0, true, uint8(0))
	f.Add("-x", "--isolated", "-a", "-u", "-c", "-x", -1, 0, 0, false, uint8(2))
	f.Add("docker", "alpine", "edge", "i386", "root", "", 0, 512, 0, false, uint8(3))
	f.Add("a b", "fedora", "a b", "amd64", "a b", "a b", 1, 1, 1, false, uint8(4))
	f.Fuzz(func(t *testing.T, name, distro, version, arch, user, userData string, cpus, mem, disk int, hostAccess bool, fv uint8) {
		features := []Features{{}, f1_2, f2_0, f2_1, f2_2}[fv%5]
		spec := backend.Spec{Distro: distro, Version: version, Arch: arch, User: user,
			CPUs: cpus, MemoryMiB: mem, DiskMiB: disk, HostAccess: hostAccess}
		if userData != "" {
			spec.CloudInit = []byte("#cloud-config\n")
		}
		args, err := CreateArgs(name, spec, userData, features)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalid) && !errors.Is(err, backend.ErrUnsupported) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrUnsupported", err)
			}
			return
		}
		if ValidateName(name) != nil {
			t.Fatalf("CreateArgs accepted machine %q", name)
		}
		want := 3 // create, image, name
		for _, s := range []string{arch, user, userData} {
			if s != "" {
				want += 2
			}
		}
		for _, n := range []int{cpus, mem, disk} {
			if n > 0 {
				want += 2
			}
		}
		if features.Isolated && !hostAccess {
			want++
		}
		if len(args) != want {
			t.Fatalf("CreateArgs = %q: %d args, want %d", args, len(args), want)
		}
		image := distro
		if version != "" {
			image += ":" + version
		}
		if args[0] != "create" || args[len(args)-2] != image || args[len(args)-1] != name {
			t.Fatalf("args %q are not create ... %s %s", args, image, name)
		}
		valued := map[string]bool{"-a": true, "-u": true, "-c": true, "--cpus": true, "--memory": true, "--disk": true}
		for i := 1; i < len(args)-2; i++ {
			switch {
			case args[i] == "--isolated":
			case valued[args[i]]:
				i++
				if v := args[i]; v == "" || strings.HasPrefix(v, "-") {
					t.Fatalf("value %q of %s in %q looks like a flag", v, args[i-1], args)
				}
			default:
				t.Fatalf("unexpected token %q in the flag section of %q", args[i], args)
			}
		}
		for _, p := range args[len(args)-2:] {
			if strings.HasPrefix(p, "-") {
				t.Fatalf("positional %q in %q looks like a flag", p, args)
			}
		}
	})
}

// FuzzStopDeleteArgs checks that the name-only builders never produce a
// command without a machine name, or with a name that is a flag.
func FuzzStopDeleteArgs(f *testing.F) {
	for _, s := range []string{"", "m1", "-a", "--all", "docker", "a b", "x\x00", "01KHVDCW7HTAGRPMB823KADP9B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		builders := []struct {
			verb  string
			build func(string) ([]string, error)
			want  int
		}{
			{"stop", StopArgs, 2},
			{"delete", DeleteArgs, 3},
			{"start", StartArgs, 2},
			{"info", InfoArgs, 4},
		}
		for _, b := range builders {
			args, err := b.build(name)
			if err != nil {
				if !errors.Is(err, backend.ErrInvalid) {
					t.Fatalf("%s: error %v does not wrap ErrInvalid", b.verb, err)
				}
				continue
			}
			if name == "" || strings.HasPrefix(name, "-") || ValidateName(name) != nil {
				t.Fatalf("%s accepted name %q: %q", b.verb, name, args)
			}
			if len(args) != b.want || args[0] != b.verb || !slices.Contains(args, name) {
				t.Fatalf("%s(%q) = %q", b.verb, name, args)
			}
		}
	})
}

// FuzzParse checks that the parsers never panic on arbitrary output.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "null", "[]", recordJSON, `{"record":` + recordJSON + `}`, "Version: 2.2.3 (1)", `{"record":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		_, _ = ParseList(out)
		_, _ = ParseInfo(out)
		_, _ = ParseVersion(out)
		_, _ = ParseStatus(out, 0)
		_ = Classify(1, string(out))
		_ = orbctlFailedRun(1, string(out))
	})
}

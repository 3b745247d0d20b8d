package incus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// argsCase is one builder call: want is the argv, or wantErr the class.
type argsCase struct {
	name    string
	reason  string
	build   func() ([]string, error)
	want    []string
	wantErr error
}

func runArgsCases(t *testing.T, cases []argsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.build()
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr, tc.reason)
				assert.Nil(t, got, "no argv on error")
				return
			}
			require.NoError(t, err, tc.reason)
			assert.Equal(t, tc.want, got, tc.reason)
		})
	}
}

var (
	local  = Builder{}
	remote = Builder{Remote: "lab"}
)

func TestInitArgs(t *testing.T) {
	runArgsCases(t, []argsCase{
		{
			name: "plain", reason: "image then name, nothing else",
			build: func() ([]string, error) { return local.Init("debian/bookworm", "orbtest-a", InitOptions{}) },
			want:  []string{"init", "debian/bookworm", "orbtest-a"},
		},
		{
			name: "remote", reason: "instance reference carries the remote; the image ref is used as resolved",
			build: func() ([]string, error) {
				return remote.Init(remote.ImageRef("debian/bookworm"), "orbtest-a", InitOptions{})
			},
			want: []string{"init", "lab:debian/bookworm", "lab:orbtest-a"},
		},
		{
			name: "public image", reason: "a public image server reference passes through",
			build: func() ([]string, error) {
				return local.Init("images:debian/bookworm/cloud", "orbtest-a", InitOptions{})
			},
			want: []string{"init", "images:debian/bookworm/cloud", "orbtest-a"},
		},
		{
			name: "limits", reason: "cpu and memory are config keys, disk is a root device override",
			build: func() ([]string, error) {
				return local.Init("debian/bookworm", "orbtest-a", InitOptions{CPUs: 2, MemoryMiB: 1024, DiskMiB: 4096})
			},
			want: []string{"init", "debian/bookworm", "orbtest-a", "-c", "limits.cpu=2", "-c", "limits.memory=1024MiB", "-d", "root,size=4096MiB"},
		},
		{
			name: "cpu only", reason: "zero limits are left out",
			build: func() ([]string, error) { return local.Init("debian/bookworm", "orbtest-a", InitOptions{CPUs: 1}) },
			want:  []string{"init", "debian/bookworm", "orbtest-a", "-c", "limits.cpu=1"},
		},
		{
			name: "memory only", reason: "memory is in MiB",
			build: func() ([]string, error) {
				return local.Init("debian/bookworm", "orbtest-a", InitOptions{MemoryMiB: 512})
			},
			want: []string{"init", "debian/bookworm", "orbtest-a", "-c", "limits.memory=512MiB"},
		},
		{
			name: "disk only", reason: "disk is a device override",
			build: func() ([]string, error) {
				return local.Init("debian/bookworm", "orbtest-a", InitOptions{DiskMiB: 2048})
			},
			want: []string{"init", "debian/bookworm", "orbtest-a", "-d", "root,size=2048MiB"},
		},
		{
			name: "cloud-init", reason: "user data is one argv element, newlines and all",
			build: func() ([]string, error) {
				return local.Init("debian/bookworm", "orbtest-a", InitOptions{CloudInit: []byte("#cloud-config\nruncmd:\n  - [touch, /x]\n")})
			},
			want: []string{"init", "debian/bookworm", "orbtest-a", "-c", "cloud-init.user-data=#cloud-config\nruncmd:\n  - [touch, /x]\n"},
		},
		{
			name: "config sorted", reason: "user.* keys come in key order so argv is deterministic",
			build: func() ([]string, error) {
				return local.Init("debian/bookworm", "orbtest-a", InitOptions{Config: map[string]string{"user.z": "1", UserConfigKey: "dev"}})
			},
			want: []string{"init", "debian/bookworm", "orbtest-a", "-c", "user.orbtest.user=dev", "-c", "user.z=1"},
		},
		{
			name: "everything", reason: "config before devices",
			build: func() ([]string, error) {
				return remote.Init("lab:debian/bookworm", "orbtest-a", InitOptions{CPUs: 4, MemoryMiB: 256, DiskMiB: 1, CloudInit: []byte("#cloud-config\n"), Config: map[string]string{UserConfigKey: "dev"}})
			},
			want: []string{"init", "lab:debian/bookworm", "lab:orbtest-a", "-c", "limits.cpu=4", "-c", "limits.memory=256MiB",
				"-c", "cloud-init.user-data=#cloud-config\n", "-c", "user.orbtest.user=dev", "-d", "root,size=1MiB"},
		},
		{
			name: "non-user config key", reason: "only user.* keys may be injected", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) {
				return local.Init("debian/bookworm", "orbtest-a", InitOptions{Config: map[string]string{"security.privileged": "true"}})
			},
		},
		{
			name: "negative cpus", reason: "limits cannot be negative", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Init("debian/bookworm", "orbtest-a", InitOptions{CPUs: -1}) },
		},
		{
			name: "empty image", reason: "no image, no command", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Init("", "orbtest-a", InitOptions{}) },
		},
		{
			name: "flag image", reason: "an image ref must not read as a flag", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Init("-x", "orbtest-a", InitOptions{}) },
		},
		{
			name: "bad name", reason: "underscores are not allowed", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Init("debian/bookworm", "bad_name", InitOptions{}) },
		},
		{
			name: "bad remote", reason: "a remote with a colon would change the reference", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) {
				return Builder{Remote: "a:b"}.Init("debian/bookworm", "orbtest-a", InitOptions{})
			},
		},
		{
			name: "nul in user data", reason: "argv cannot carry NUL", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) {
				return local.Init("debian/bookworm", "orbtest-a", InitOptions{CloudInit: []byte("a\x00b")})
			},
		},
	})
}

func TestLifecycleArgs(t *testing.T) {
	runArgsCases(t, []argsCase{
		{name: "start", reason: "one positional",
			build: func() ([]string, error) { return local.Start("orbtest-a") }, want: []string{"start", "orbtest-a"}},
		{name: "start remote", reason: "remote prefix",
			build: func() ([]string, error) { return remote.Start("orbtest-a") }, want: []string{"start", "lab:orbtest-a"}},
		{name: "start empty", reason: "an empty name is always an error", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Start("") }},
		{name: "unset hwaddr", reason: "the NIC's volatile address key",
			build: func() ([]string, error) { return remote.UnsetHWAddr("orbtest-a", "eth0") },
			want:  []string{"config", "unset", "lab:orbtest-a", "volatile.eth0.hwaddr"}},
		{name: "unset hwaddr bad device", reason: "a device name never carries another key", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.UnsetHWAddr("orbtest-a", "eth0 limits.cpu") }},
		{name: "unset hwaddr empty device", reason: "no device, no key", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.UnsetHWAddr("orbtest-a", "") }},
		{name: "unset hwaddr flag device", reason: "a device like -x is invalid", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.UnsetHWAddr("orbtest-a", "-x") }},
		{name: "unset hwaddr empty name", reason: "an empty name is always an error", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.UnsetHWAddr("", "eth0") }},
		{name: "stop", reason: "clean shutdown by default",
			build: func() ([]string, error) { return local.Stop("orbtest-a", StopOptions{}) }, want: []string{"stop", "orbtest-a"}},
		{name: "stop force", reason: "kill",
			build: func() ([]string, error) { return local.Stop("orbtest-a", StopOptions{Force: true}) },
			want:  []string{"stop", "orbtest-a", "--force"}},
		{name: "stop timeout", reason: "timeout is rounded up to whole seconds",
			build: func() ([]string, error) {
				return remote.Stop("orbtest-a", StopOptions{Timeout: 1500 * time.Millisecond})
			},
			want: []string{"stop", "lab:orbtest-a", "--timeout=2"}},
		{name: "stop negative timeout", reason: "rejected", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Stop("orbtest-a", StopOptions{Timeout: -1}) }},
		{name: "stop flag name", reason: "a name like -x is not a flag, it is invalid", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Stop("-x", StopOptions{}) }},
		{name: "restart", reason: "a clean reboot, bounded like stop",
			build: func() ([]string, error) { return remote.Restart("orbtest-a", StopOptions{Timeout: 20 * time.Second}) },
			want:  []string{"restart", "lab:orbtest-a", "--timeout=20"}},
		{name: "restart force", reason: "kill and start",
			build: func() ([]string, error) { return local.Restart("orbtest-a", StopOptions{Force: true}) },
			want:  []string{"restart", "orbtest-a", "--force"}},
		{name: "restart empty", reason: "an empty name is always an error", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Restart("", StopOptions{}) }},
		{name: "restart negative timeout", reason: "rejected", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Restart("orbtest-a", StopOptions{Timeout: -1}) }},
		{name: "delete", reason: "always --force so running machines go too",
			build: func() ([]string, error) { return local.Delete("orbtest-a") }, want: []string{"delete", "--force", "orbtest-a"}},
		{name: "delete remote", reason: "remote prefix",
			build: func() ([]string, error) { return remote.Delete("orbtest-a") }, want: []string{"delete", "--force", "lab:orbtest-a"}},
		{name: "delete empty", reason: "never delete without a name", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Delete("") }},
		{name: "list", reason: "json with state",
			build: func() ([]string, error) { return local.List() }, want: []string{"list", "--format", "json"}},
		{name: "list remote", reason: "remote alone",
			build: func() ([]string, error) { return remote.List() }, want: []string{"list", "lab:", "--format", "json"}},
		{name: "list one", reason: "anchored so orbtest-a does not match orbtest-ab",
			build: func() ([]string, error) { return local.ListOne("orbtest-a") },
			want:  []string{"list", "^orbtest-a$", "--format", "json"}},
		{name: "list one remote", reason: "remote first, then the filter",
			build: func() ([]string, error) { return remote.ListOne("orbtest-a") },
			want:  []string{"list", "lab:", "^orbtest-a$", "--format", "json"}},
		{name: "list one regex", reason: "a name with regex characters is invalid", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.ListOne("orbtest.*") }},
		{name: "instance query", reason: "the one instance, with its state, in the project given",
			build: func() ([]string, error) { return local.InstanceQuery("orbtest-a", "default") },
			want:  []string{"query", "/1.0/instances/orbtest-a?project=default&recursion=1"}},
		{name: "instance query remote", reason: "remote:path; the project escaped",
			build: func() ([]string, error) { return remote.InstanceQuery("orbtest-a", "a b") },
			want:  []string{"query", "lab:/1.0/instances/orbtest-a?project=a+b&recursion=1"}},
		{name: "instance query without project", reason: "incus query would use the default project", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.InstanceQuery("orbtest-a", "") }},
		{name: "instance query bad name", reason: "no path or query characters in the name", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.InstanceQuery("a/../b?x", "default") }},
		{name: "current project remote", reason: "the remote's",
			build: func() ([]string, error) { return remote.CurrentProject() }, want: []string{"project", "get-current", "lab:"}},
		{name: "copy", reason: "instance only, no snapshots",
			build: func() ([]string, error) { return local.Copy("orbtest-a", "orbtest-b") },
			want:  []string{"copy", "orbtest-a", "orbtest-b", "--instance-only"}},
		{name: "copy remote", reason: "both sides carry the remote",
			build: func() ([]string, error) { return remote.Copy("orbtest-a", "orbtest-b") },
			want:  []string{"copy", "lab:orbtest-a", "lab:orbtest-b", "--instance-only"}},
		{name: "copy bad dst", reason: "destination validated too", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Copy("orbtest-a", "b.c") }},
		{name: "console log", reason: "the last boot's console, running or stopped",
			build: func() ([]string, error) { return remote.ConsoleLog("orbtest-a") },
			want:  []string{"console", "lab:orbtest-a", "--show-log"}},
		{name: "console log bad name", reason: "a flag is not a name", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.ConsoleLog("--force") }},
		{name: "snapshot create", reason: "instance then snapshot",
			build: func() ([]string, error) { return local.SnapshotCreate("orbtest-a", "clean") },
			want:  []string{"snapshot", "create", "orbtest-a", "clean"}},
		{name: "snapshot restore remote", reason: "remote prefix",
			build: func() ([]string, error) { return remote.SnapshotRestore("orbtest-a", "clean") },
			want:  []string{"snapshot", "restore", "lab:orbtest-a", "clean"}},
		{name: "snapshot delete", reason: "delete a snapshot",
			build: func() ([]string, error) { return local.SnapshotDelete("orbtest-a", "s_1.0") },
			want:  []string{"snapshot", "delete", "orbtest-a", "s_1.0"}},
		{name: "snapshot slash", reason: "a slash would address another object", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.SnapshotCreate("orbtest-a", "a/b") }},
		{name: "snapshot empty", reason: "needs a name", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.SnapshotCreate("orbtest-a", "") }},
		{name: "snapshot flag", reason: "a snapshot name cannot be a flag", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.SnapshotRestore("orbtest-a", "-f") }},
		{name: "image list", reason: "every image, filtered in Go",
			build: func() ([]string, error) { return local.ImageList() }, want: []string{"image", "list", "--format", "json"}},
		{name: "image list remote", reason: "remote alone",
			build: func() ([]string, error) { return remote.ImageList() }, want: []string{"image", "list", "lab:", "--format", "json"}},
		{name: "version", reason: "no arguments",
			build: func() ([]string, error) { return local.Version() }, want: []string{"version"}},
		{name: "version remote", reason: "remote alone",
			build: func() ([]string, error) { return remote.Version() }, want: []string{"version", "lab:"}},
		{name: "server info", reason: "JSON from the API root",
			build: func() ([]string, error) { return local.ServerInfo() }, want: []string{"query", "/1.0"}},
		{name: "server info remote", reason: "remote-prefixed API path",
			build: func() ([]string, error) { return remote.ServerInfo() }, want: []string{"query", "lab:/1.0"}},
		{name: "server info bad remote", reason: "validated", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return Builder{Remote: "-x"}.ServerInfo() }},
	})
}

func TestExecArgs(t *testing.T) {
	runArgsCases(t, []argsCase{
		{name: "root", reason: "uid and gid always explicit, -T always",
			build: func() ([]string, error) { return local.Exec("orbtest-a", ExecOptions{}, []string{"true"}) },
			want:  []string{"exec", "orbtest-a", "-T", "--user=0", "--group=0", "--", "true"}},
		{name: "no stdin", reason: "-n when there is no input",
			build: func() ([]string, error) {
				return local.Exec("orbtest-a", ExecOptions{NoStdin: true}, []string{"true"})
			},
			want: []string{"exec", "orbtest-a", "-T", "-n", "--user=0", "--group=0", "--", "true"}},
		{name: "full", reason: "user, group, cwd and env joined to their flags",
			build: func() ([]string, error) {
				return remote.Exec("orbtest-a", ExecOptions{UID: 1000, GID: 1001, Cwd: "/home/dev", Env: []string{"HOME=/home/dev", "A=b=c", "E="}},
					[]string{"sh", "-c", "echo $A"})
			},
			want: []string{"exec", "lab:orbtest-a", "-T", "--user=1000", "--group=1001", "--cwd=/home/dev",
				"--env=HOME=/home/dev", "--env=A=b=c", "--env=E=", "--", "sh", "-c", "echo $A"}},
		{name: "flag-like argv", reason: "argv after -- is verbatim, even --help",
			build: func() ([]string, error) { return local.Exec("orbtest-a", ExecOptions{}, []string{"--help", "-x"}) },
			want:  []string{"exec", "orbtest-a", "-T", "--user=0", "--group=0", "--", "--help", "-x"}},
		{name: "flag-like env", reason: "an env entry stays inside its --env= token",
			build: func() ([]string, error) {
				return local.Exec("orbtest-a", ExecOptions{Env: []string{"--user=0=x"}}, []string{"true"})
			},
			want: []string{"exec", "orbtest-a", "-T", "--user=0", "--group=0", "--env=--user=0=x", "--", "true"}},
		{name: "empty argv", reason: "nothing to run", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Exec("orbtest-a", ExecOptions{}, nil) }},
		{name: "empty program", reason: "argv[0] must be set", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Exec("orbtest-a", ExecOptions{}, []string{""}) }},
		{name: "relative cwd", reason: "cwd must be absolute", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Exec("orbtest-a", ExecOptions{Cwd: "tmp"}, []string{"true"}) }},
		{name: "flag cwd", reason: "a cwd like -x is rejected (not absolute)", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Exec("orbtest-a", ExecOptions{Cwd: "-x"}, []string{"true"}) }},
		{name: "env without =", reason: "KEY=VALUE only", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) {
				return local.Exec("orbtest-a", ExecOptions{Env: []string{"A"}}, []string{"true"})
			}},
		{name: "env empty key", reason: "=x has no key", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) {
				return local.Exec("orbtest-a", ExecOptions{Env: []string{"=x"}}, []string{"true"})
			}},
		{name: "negative uid", reason: "ids are unsigned", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Exec("orbtest-a", ExecOptions{UID: -1}, []string{"true"}) }},
		{name: "flag name", reason: "name -x is invalid, not a flag", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Exec("-x", ExecOptions{}, []string{"true"}) }},
		{name: "nul argv", reason: "argv cannot carry NUL", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.Exec("orbtest-a", ExecOptions{}, []string{"a\x00"}) }},
	})
}

func TestFileArgs(t *testing.T) {
	keep := PushOptions{UID: -1, GID: -1, Mode: -1}
	runArgsCases(t, []argsCase{
		{name: "push", reason: "host path then NAME/abs/path after --",
			build: func() ([]string, error) { return local.FilePush("orbtest-a", "/tmp/f", "/etc/f", keep) },
			want:  []string{"file", "push", "--", "/tmp/f", "orbtest-a/etc/f"}},
		{name: "push owner", reason: "uid, gid and mode when set",
			build: func() ([]string, error) {
				return remote.FilePush("orbtest-a", "/tmp/f", "/home/dev/f", PushOptions{UID: 1000, GID: 1000, Mode: 0o640})
			},
			want: []string{"file", "push", "--uid=1000", "--gid=1000", "--mode=0640", "--", "/tmp/f", "lab:orbtest-a/home/dev/f"}},
		{name: "push root owner", reason: "uid 0 is explicit, not omitted",
			build: func() ([]string, error) {
				return local.FilePush("orbtest-a", "/tmp/f", "/f", PushOptions{UID: 0, GID: 0, Mode: -1})
			},
			want: []string{"file", "push", "--uid=0", "--gid=0", "--", "/tmp/f", "orbtest-a/f"}},
		{name: "push dash host path", reason: "a relative host path gets ./ so -x and - are files",
			build: func() ([]string, error) { return local.FilePush("orbtest-a", "-x", "/f", keep) },
			want:  []string{"file", "push", "--", "./-x", "orbtest-a/f"}},
		{name: "push stdin dash", reason: "- would mean standard input",
			build: func() ([]string, error) { return local.FilePush("orbtest-a", "-", "/f", keep) },
			want:  []string{"file", "push", "--", "./-", "orbtest-a/f"}},
		{name: "push relative guest", reason: "guest paths are absolute", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.FilePush("orbtest-a", "/tmp/f", "etc/f", keep) }},
		{name: "push root dir", reason: "/ is not a file", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.FilePush("orbtest-a", "/tmp/f", "/", keep) }},
		{name: "push empty host", reason: "needs a source", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.FilePush("orbtest-a", "", "/f", keep) }},
		{name: "push bad mode", reason: "mode beyond 07777", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) {
				return local.FilePush("orbtest-a", "/tmp/f", "/f", PushOptions{UID: -1, GID: -1, Mode: 0o10000})
			}},
		{name: "pull", reason: "NAME/abs/path then host path after --",
			build: func() ([]string, error) { return local.FilePull("orbtest-a", "/etc/os-release", "/tmp/o") },
			want:  []string{"file", "pull", "--", "orbtest-a/etc/os-release", "/tmp/o"}},
		{name: "pull remote relative host", reason: "remote prefix; ./ on a relative host path",
			build: func() ([]string, error) { return remote.FilePull("orbtest-a", "/etc/os-release", "out/o") },
			want:  []string{"file", "pull", "--", "lab:orbtest-a/etc/os-release", "./out/o"}},
		{name: "pull stdout dash", reason: "- would mean standard output",
			build: func() ([]string, error) { return local.FilePull("orbtest-a", "/f", "-") },
			want:  []string{"file", "pull", "--", "orbtest-a/f", "./-"}},
		{name: "pull relative guest", reason: "guest paths are absolute", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.FilePull("orbtest-a", "f", "/tmp/f") }},
		{name: "pull bad name", reason: "validated", wantErr: backend.ErrInvalid,
			build: func() ([]string, error) { return local.FilePull("a/b", "/f", "/tmp/f") }},
	})
}

package incus

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestParseVersion(t *testing.T) {
	cases := []struct {
		name    string
		reason  string
		in      string
		want    Version
		wantErr bool
	}{
		{"captured", "incus 6.0.4 on this machine", string(readTestdata(t, "version.txt")), Version{Client: "6.0.4", Server: "6.0.4"}, false},
		{"unreachable", "captured before incusd ran: exit 0, no server", "Client version: 6.0.4\nServer version: unreachable\n", Version{Client: "6.0.4"}, false},
		{"first run banner", "the first-run hints precede the versions", "If this is your first time running Incus on this machine, you should also run: incus admin init\n\nClient version: 6.0.4\nServer version: unreachable\n", Version{Client: "6.0.4"}, false},
		{"garbage", "no client line", "hello\n", Version{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseVersion([]byte(tc.in))
			if tc.wantErr {
				assert.Error(t, err, tc.reason)
				return
			}
			require.NoError(t, err, tc.reason)
			assert.Equal(t, tc.want, got, tc.reason)
		})
	}
}

func TestParseServerInfo(t *testing.T) {
	info, err := ParseServerInfo(readTestdata(t, "server-info.json"))
	require.NoError(t, err)
	assert.Equal(t, "6.0.4", info.Environment.ServerVersion)
	assert.Equal(t, []string{"x86_64", "i686"}, info.Environment.Architectures)
	assert.Equal(t, "btrfs", info.Environment.Storage)
	assert.Equal(t, "lxc", info.Environment.Driver)
	assert.Equal(t, "trusted", info.Auth)
	assert.True(t, info.HasExtension("container_exec_recording"))
	assert.False(t, info.HasExtension("no_such_extension"))

	_, err = ParseServerInfo([]byte(`{"auth":"untrusted","environment":{}}`))
	assert.Error(t, err, "an untrusted client sees no server version")
	_, err = ParseServerInfo([]byte(`Error: nope`))
	assert.Error(t, err, "not JSON")
}

func TestParsePasswd(t *testing.T) {
	cases := []struct {
		name    string
		reason  string
		in      string
		want    Account
		wantErr bool
	}{
		{"user", "useradd -m on Debian", "dev:x:1000:1000::/home/dev:/bin/bash\n", Account{Name: "dev", UID: 1000, GID: 1000, Home: "/home/dev"}, false},
		{"root", "uid 0", "root:x:0:0:root:/root:/bin/bash", Account{Name: "root", Home: "/root"}, false},
		{"no home", "an empty home becomes /", "svc:x:999:998:::/usr/sbin/nologin", Account{Name: "svc", UID: 999, GID: 998, Home: "/"}, false},
		{"short", "too few fields", "dev:x:1000", Account{}, true},
		{"bad uid", "not a number", "dev:x:abc:1000::/home/dev:/bin/sh", Account{}, true},
		{"negative", "ids are unsigned", "dev:x:-1:1000::/home/dev:/bin/sh", Account{}, true},
		{"empty", "getent printed nothing", "", Account{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePasswd(tc.in)
			if tc.wantErr {
				assert.Error(t, err, tc.reason)
				return
			}
			require.NoError(t, err, tc.reason)
			assert.Equal(t, tc.want, got, tc.reason)
		})
	}
}

func TestMapStatus(t *testing.T) {
	cases := []struct {
		in     string
		want   backend.State
		reason string
	}{
		{"Running", backend.StateRunning, "running container"},
		{"Ready", backend.StateRunning, "VM with its agent up"},
		{"Stopped", backend.StateStopped, "stopped"},
		{"Starting", backend.StateStarting, "transition"},
		{"Stopping", backend.StateStopping, "transition"},
		{"Frozen", backend.StateUnknown, "paused: neither running nor stopped"},
		{"Error", backend.StateUnknown, "broken"},
		{"", backend.StateUnknown, "missing"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, MapStatus(tc.in), tc.reason)
	}
}

func TestParseListErrors(t *testing.T) {
	ms, err := ParseList([]byte("[]\n"))
	require.NoError(t, err, "captured: no instance matches")
	assert.Empty(t, ms)
	_, err = ParseList([]byte("Error: x"))
	assert.Error(t, err, "not JSON")
	_, err = ParseList([]byte(`[{"status":"Running"}]`))
	assert.Error(t, err, "an instance needs a name")
}

func TestParseListSynthetic(t *testing.T) {
	// Shapes the captured list lacks: an address on another interface, a
	// stopped instance whose state still lists addresses, no image keys.
	in := `[
	 {"name":"b","status":"Running","architecture":"aarch64","config":{},"created_at":"2025-01-02T03:04:05.123456789Z",
	  "state":{"network":{"lo":{"addresses":[{"family":"inet","address":"127.0.0.1","scope":"local"}]},
	   "enp5s0":{"addresses":[{"family":"inet6","address":"fe80::1","scope":"link"},{"family":"inet","address":"10.0.0.7","scope":"global"},{"family":"inet6","address":"fd00::7","scope":"global"}]}}}},
	 {"name":"a","status":"Stopped","architecture":"x86_64","config":{"image.os":"Alpine","image.release":"3.20","user.orbtest.user":"dev"},
	  "created_at":"2025-01-01T00:00:00Z",
	  "state":{"network":{"eth0":{"addresses":[{"family":"inet","address":"10.0.0.8","scope":"global"}]}}}}
	]`
	ms, err := ParseList([]byte(in))
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, backend.Machine{Name: "a", State: backend.StateStopped, Distro: "alpine", Version: "3.20", Arch: "amd64", User: "dev",
		Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, ms[0], "sorted by name; no address when stopped")
	assert.Equal(t, "10.0.0.7", ms[1].IP4, "a global address on a non-eth0 interface")
	assert.Equal(t, "fd00::7", ms[1].IP6, "global, not link-local")
	assert.Equal(t, "arm64", ms[1].Arch)
	assert.Equal(t, "root", ms[1].User, "no recorded user means root")
}

func TestParseListCaptured(t *testing.T) {
	ms, err := ParseList(readTestdata(t, "list.json"))
	require.NoError(t, err)
	require.Len(t, ms, 2)

	running := ms[0]
	assert.Equal(t, "orbtest-cap-14297", running.Name)
	assert.Equal(t, "29d9be5b-432c-4998-9da8-9068618805df", running.ID, "volatile.uuid")
	assert.Equal(t, backend.StateRunning, running.State)
	assert.Equal(t, "debian", running.Distro)
	assert.Equal(t, "bookworm", running.Version)
	assert.Equal(t, "amd64", running.Arch, "x86_64 in Debian naming")
	assert.Equal(t, "dev", running.User, "from user.orbtest.user")
	assert.Equal(t, "10.200.77.62", running.IP4, "eth0, family inet, scope global")
	assert.Empty(t, running.IP6, "the bridge has no IPv6; ::1 is local")
	assert.Equal(t, time.Date(2026, 11, 22, 12, 2, 49, 362745125, time.UTC), running.Created.UTC())

	stopped := ms[1]
	assert.Equal(t, "orbtest-cap-14297-s", stopped.Name)
	assert.Equal(t, backend.StateStopped, stopped.State)
	assert.Equal(t, "root", stopped.User, "no user recorded")
	assert.Empty(t, stopped.IP4, "state.network is null when stopped")

	one, err := ParseList(readTestdata(t, "list-one.json"))
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, running, one[0], "list ^NAME$ gives the same record")
}

func TestParseImagesCaptured(t *testing.T) {
	imgs, err := ParseImages(readTestdata(t, "image-list.json"))
	require.NoError(t, err)
	require.Len(t, imgs, 1)
	img := imgs[0]
	assert.Equal(t, []string{"debian/bookworm"}, img.Aliases)
	assert.Equal(t, "x86_64", img.Architecture)
	assert.Equal(t, "container", img.Type)
	assert.Equal(t, "debian", img.OS)
	assert.Equal(t, "bookworm", img.Release)
	assert.Len(t, img.Fingerprint, 64)
	assert.Equal(t, "debian/bookworm", SelectLocalImage(imgs, ImageQuery{Alias: "debian/bookworm", Arch: "x86_64", CloudInit: true}))

	none, err := ParseImages([]byte("[]\n"))
	require.NoError(t, err, "captured before the setup script imported an image")
	assert.Empty(t, none)
	_, err = ParseImages([]byte("nope"))
	assert.Error(t, err)
}

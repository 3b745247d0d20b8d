package orbtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCacheKey(t *testing.T) {
	base := keyInput{
		Backend: "incus", BackendVersion: "6.0.4", Image: "sha256:ac10", Distro: "debian", Version: "bookworm",
		Setup: []string{"apt-get install -y curl"},
		Files: []keyFile{{Guest: "/etc/app.conf", Mode: 0o644, SHA256: "aa"}},
	}
	with := func(f func(*keyInput)) keyInput {
		in := base
		in.Setup = append([]string(nil), base.Setup...)
		in.Files = append([]keyFile(nil), base.Files...)
		f(&in)
		return in
	}
	for _, tc := range []struct {
		name   string
		in     keyInput
		same   bool
		reason string
	}{
		{"identical", with(func(*keyInput) {}), true, "the same content is the same key"},
		{"debian number", with(func(in *keyInput) { in.Version = "12" }), true, "Debian 12 is bookworm"},
		{"distro case", with(func(in *keyInput) { in.Distro = "Debian"; in.Version = "Bookworm" }), true, "spelling, not content"},
		{"one setup byte", with(func(in *keyInput) { in.Setup[0] += " " }), false, "a changed setup step"},
		{"another step", with(func(in *keyInput) { in.Setup = append(in.Setup, "true") }), false, "one step more"},
		{"steps joined", with(func(in *keyInput) { in.Setup = []string{"apt-get install", " -y curl"} }), false, "two steps are not one"},
		{"file content", with(func(in *keyInput) { in.Files[0].SHA256 = "ab" }), false, "one byte of a copied file"},
		{"file mode", with(func(in *keyInput) { in.Files[0].Mode = 0o755 }), false, "an executable is another file"},
		{"file path", with(func(in *keyInput) { in.Files[0].Guest = "/etc/app2.conf" }), false, "the guest path"},
		{"image moved", with(func(in *keyInput) { in.Image = "sha256:ff00" }), false, "the alias points at another image"},
		{"backend version", with(func(in *keyInput) { in.BackendVersion = "6.0.5" }), false, "another backend version"},
		{"backend", with(func(in *keyInput) { in.Backend = "orbstack" }), false, "another backend"},
		{"remote", with(func(in *keyInput) { in.Remote = "lab" }), false, "another server"},
		{"arch", with(func(in *keyInput) { in.Arch = "arm64" }), false, "another architecture"},
		{"user", with(func(in *keyInput) { in.User = "ci" }), false, "another default user"},
		{"cloud-init", with(func(in *keyInput) { in.CloudInit = "#cloud-config\n" }), false, "user data"},
		{"limits", with(func(in *keyInput) { in.CPUs = 2 }), false, "clones inherit the template's limits"},
		{"proxy", with(func(in *keyInput) { in.Proxy = "http://10.0.0.1:3142" }), false, "the proxy is configured in the machine"},
		{"no files", with(func(in *keyInput) { in.Files = nil }), false, "a file fewer"},
	} {
		got := cacheKey(tc.in) == cacheKey(base)
		assert.Equal(t, tc.same, got, "%s: %s", tc.name, tc.reason)
	}
	assert.Len(t, cacheKey(base), 64)
	ubuntu := keyInput{Backend: "orbstack", Distro: "ubuntu", Version: "noble"}
	ubuntu2 := ubuntu
	ubuntu2.Version = "24.04"
	assert.Equal(t, cacheKey(ubuntu), cacheKey(ubuntu2), "Ubuntu noble is 24.04")
}

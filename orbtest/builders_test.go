package orbtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpecValuesAreImmutable(t *testing.T) {
	base := Debian("bookworm").WithSetup("apt-get update")
	a := base.WithSetup("apt-get install -y curl").WithUser("ci")
	b := base.WithSetup("apt-get install -y nginx")

	assert.Equal(t, []string{"apt-get update"}, base.setup)
	assert.Equal(t, []string{"apt-get update", "apt-get install -y curl"}, a.setup)
	assert.Equal(t, []string{"apt-get update", "apt-get install -y nginx"}, b.setup)
	assert.Empty(t, base.user)

	f1 := base.WithFile("a", "/a")
	f2 := f1.WithFile("b", "/b")
	f3 := f1.WithFile("c", "/c")
	assert.Len(t, f1.files, 1)
	assert.Equal(t, "/b", f2.files[1].guest)
	assert.Equal(t, "/c", f3.files[1].guest)
}

func TestFingerprint(t *testing.T) {
	base := Debian("bookworm")
	fp := base.Fingerprint()
	assert.Len(t, fp, 64)
	assert.Equal(t, fp, Debian("bookworm").Fingerprint(), "equal specs share a fingerprint")

	different := map[string]Spec{
		"version":     Debian("trixie"),
		"distro":      Ubuntu("bookworm"),
		"arch":        base.WithArch("amd64"),
		"user":        base.WithUser("ci"),
		"cloud-init":  base.WithCloudInit("#cloud-config\n"),
		"setup":       base.WithSetup("true"),
		"setup order": base.WithSetup("b", "a"),
		"file":        base.WithFile("x", "/x"),
		"cpus":        base.WithCPUs(2),
		"memory":      base.WithMemory(512),
		"disk":        base.WithDisk(4096),
		"host access": base.WithHostAccess(),
	}
	seen := map[string]string{fp: "base"}
	for what, s := range different {
		got := s.Fingerprint()
		prev, dup := seen[got]
		assert.False(t, dup, "%s collides with %s", what, prev)
		seen[got] = what
	}
	// Field boundaries matter: moving text between two setup steps changes it.
	assert.NotEqual(t, base.WithSetup("ab", "c").Fingerprint(), base.WithSetup("a", "bc").Fingerprint())
	assert.Equal(t, base.WithSetup("a", "b").Fingerprint(), base.WithSetup("a").WithSetup("b").Fingerprint())
}

func TestSpecValidate(t *testing.T) {
	require.NoError(t, Debian("bookworm").Validate())
	require.NoError(t, Ubuntu("24.04").WithArch("arm64").WithUser("ci_user").WithCPUs(2).WithMemory(1024).Validate())
	err := Spec{}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `orbtest.Debian("bookworm")`)
	err = Debian("bookworm; rm -rf /").Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad version")
	err = Debian("12").WithMemory(10).Validate()
	assert.ErrorContains(t, err, "at least 64")
}

package incus

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
)

func TestImageAlias(t *testing.T) {
	cases := []struct {
		distro, version string
		reason          string
		want            string
		wantErr         error
	}{
		{"debian", "bookworm", "codename as is", "debian/bookworm", nil},
		{"debian", "12", "Debian numbers become codenames", "debian/bookworm", nil},
		{"debian", "13", "trixie", "debian/trixie", nil},
		{"debian", "", "default version", "debian/bookworm", nil},
		{"Debian", " 12 ", "case and space are normalised", "debian/bookworm", nil},
		{"ubuntu", "24.04", "Ubuntu by number", "ubuntu/24.04", nil},
		{"ubuntu", "noble", "Ubuntu codenames become numbers", "ubuntu/24.04", nil},
		{"ubuntu", "jammy", "jammy", "ubuntu/22.04", nil},
		{"ubuntu", "", "default", "ubuntu/24.04", nil},
		{"alpine", "3.20", "as is", "alpine/3.20", nil},
		{"alpine", "edge", "any version word passes", "alpine/edge", nil},
		{"arch", "", "OrbStack's spelling maps to archlinux", "archlinux/current", nil},
		{"rocky", "9", "OrbStack's spelling maps to rockylinux", "rockylinux/9", nil},
		{"centos", "", "default with a capital", "centos/9-Stream", nil},
		{"gentoo", "openrc", "unknown distros pass with a version", "gentoo/openrc", nil},
		{"gentoo", "", "unknown distro without version", "", backend.ErrInvalid},
		{"", "12", "empty distro", "", backend.ErrInvalid},
		{"debian/x", "12", "no slash in a distro", "", backend.ErrInvalid},
		{"debian", "12/cloud", "no slash in a version", "", backend.ErrInvalid},
		{"-debian", "12", "no leading dash", "", backend.ErrInvalid},
		{"debian", "a b", "no spaces", "", backend.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.distro+"_"+tc.version, func(t *testing.T) {
			got, err := ImageAlias(tc.distro, tc.version)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr, tc.reason)
				return
			}
			require.NoError(t, err, tc.reason)
			assert.Equal(t, tc.want, got, tc.reason)
		})
	}
}

func TestArchNames(t *testing.T) {
	cases := []struct {
		in, want, back string
		reason         string
	}{
		{"amd64", "x86_64", "amd64", "Go/Debian name"},
		{"arm64", "aarch64", "arm64", "Go/Debian name"},
		{"x86_64", "x86_64", "amd64", "Incus name passes"},
		{"aarch64", "aarch64", "arm64", "Incus name passes"},
		{"ARM64", "aarch64", "arm64", "case-insensitive"},
		{"armhf", "armv7l", "armhf", "32-bit arm"},
		{"386", "i686", "386", "32-bit x86"},
		{"riscv64", "riscv64", "riscv64", "same name"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := IncusArch(tc.in)
			require.NoError(t, err, tc.reason)
			assert.Equal(t, tc.want, got, tc.reason)
			assert.Equal(t, tc.back, DebianArch(got), "round trip")
		})
	}
	_, err := IncusArch("sparc")
	assert.ErrorIs(t, err, backend.ErrInvalid)
}

func TestSelectLocalImage(t *testing.T) {
	imgs := []Image{
		{Fingerprint: "aa", Architecture: "x86_64", Type: "container", Aliases: []string{"debian/bookworm"}},
		{Fingerprint: "bb", Architecture: "aarch64", Type: "container", Aliases: []string{"debian/bookworm/arm64"}},
		{Fingerprint: "cc", Architecture: "x86_64", Type: "container", Aliases: []string{"ubuntu/24.04/cloud", "ubuntu/24.04"}},
		{Fingerprint: "dd", Architecture: "x86_64", Type: "virtual-machine", Aliases: []string{"alpine/3.20"}},
	}
	cases := []struct {
		name   string
		reason string
		q      ImageQuery
		want   string
	}{
		{"plain", "the alias as is", ImageQuery{Alias: "debian/bookworm"}, "debian/bookworm"},
		{"native arch", "arch matches the image", ImageQuery{Alias: "debian/bookworm", Arch: "x86_64"}, "debian/bookworm"},
		{"other arch", "an arch-suffixed alias with that arch", ImageQuery{Alias: "debian/bookworm", Arch: "aarch64"}, "debian/bookworm/arm64"},
		{"missing arch", "no riscv image", ImageQuery{Alias: "debian/bookworm", Arch: "riscv64"}, ""},
		{"cloud preferred", "the /cloud variant first", ImageQuery{Alias: "ubuntu/24.04", CloudInit: true}, "ubuntu/24.04/cloud"},
		{"cloud fallback", "the plain alias when there is no /cloud one", ImageQuery{Alias: "debian/bookworm", CloudInit: true}, "debian/bookworm"},
		{"vm skipped", "only container images count", ImageQuery{Alias: "alpine/3.20"}, ""},
		{"absent", "nothing local", ImageQuery{Alias: "fedora/41"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, SelectLocalImage(imgs, tc.q), tc.reason)
		})
	}
}

func TestPublicImageRef(t *testing.T) {
	cases := []struct {
		reason string
		q      ImageQuery
		want   string
	}{
		{"plain", ImageQuery{Alias: "debian/bookworm"}, "images:debian/bookworm"},
		{"cloud variant", ImageQuery{Alias: "debian/bookworm", CloudInit: true}, "images:debian/bookworm/cloud"},
		{"arch suffix in Debian naming", ImageQuery{Alias: "ubuntu/24.04", Arch: "aarch64"}, "images:ubuntu/24.04/arm64"},
		{"variant then arch", ImageQuery{Alias: "ubuntu/24.04", Arch: "x86_64", CloudInit: true}, "images:ubuntu/24.04/cloud/amd64"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, PublicImageRef("images", tc.q), tc.reason)
	}
}

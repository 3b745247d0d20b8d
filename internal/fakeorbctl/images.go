package fakeorbctl

import (
	"crypto/rand"
	"os"
	"os/user"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// distroToImage maps the CLI distro names to image names (OrbStack's CLI
// reference, ../shared/reference/orbctl.md §3.1; §2.1: image.distro holds
// the image name).
var distroToImage = map[string]string{
	"alma":      "almalinux",
	"alpine":    "alpine",
	"arch":      "archlinux",
	"centos":    "centos",
	"debian":    "debian",
	"devuan":    "devuan",
	"fedora":    "fedora",
	"gentoo":    "gentoo",
	"kali":      "kali",
	"nixos":     "nixos",
	"openeuler": "openeuler",
	"opensuse":  "opensuse",
	"oracle":    "oracle",
	"rocky":     "rockylinux",
	"ubuntu":    "ubuntu",
	"void":      "voidlinux",
}

// imageLatest is the version used when create gets no ":VERSION" (CLI
// reference §3.1; the 2.2-era default for ubuntu is questing).
var imageLatest = map[string]string{
	"almalinux":  "9",
	"alpine":     "3.22",
	"archlinux":  "current",
	"centos":     "9-Stream",
	"debian":     "bookworm",
	"devuan":     "daedalus",
	"fedora":     "42",
	"gentoo":     "current",
	"kali":       "current",
	"nixos":      "25.05",
	"openeuler":  "25.03",
	"opensuse":   "15.6",
	"oracle":     "9",
	"rockylinux": "9",
	"ubuntu":     "questing",
	"voidlinux":  "current",
}

// imageVersions lists the versions the fake image index holds; anything else
// is "image not found".
var imageVersions = map[string][]string{
	"almalinux":  {"8", "9", "10"},
	"alpine":     {"3.19", "3.20", "3.21", "3.22", "edge"},
	"archlinux":  {"current"},
	"centos":     {"9-Stream", "10-Stream"},
	"debian":     {"bullseye", "bookworm", "trixie", "forky", "sid"},
	"devuan":     {"chimaera", "daedalus"},
	"fedora":     {"40", "41", "42"},
	"gentoo":     {"current"},
	"kali":       {"current"},
	"nixos":      {"25.05"},
	"openeuler":  {"24.03", "25.03"},
	"opensuse":   {"15.5", "15.6", "16.0", "tumbleweed"},
	"oracle":     {"8", "9"},
	"rockylinux": {"8", "9", "10"},
	"ubuntu":     {"jammy", "noble", "oracular", "plucky", "questing", "resolute"},
	"voidlinux":  {"current"},
}

// imageVersionAliases maps numeric versions to code names (CLI reference
// §1.1, §3.1).
// Some aliases name versions the index no longer has (debian 10, ubuntu
// 20.04): those resolve and then fail with "image not found".
var imageVersionAliases = map[string]map[string]string{
	"debian": {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky"},
	"devuan": {"4": "chimaera", "5": "daedalus"},
	"ubuntu": {"20.04": "focal", "22.04": "jammy", "24.04": "noble", "24.10": "oracular",
		"25.04": "plucky", "25.10": "questing", "26.04": "resolute"},
}

// imageDefaultVariant: gentoo's default image is openrc; the rest "default".
var imageDefaultVariant = map[string]string{"gentoo": "openrc"}

// cloudImages have a "cloud" variant, so they accept -c (CLI reference §3.7).
var cloudImages = map[string]bool{
	"almalinux": true, "alpine": true, "centos": true, "debian": true, "devuan": true,
	"fedora": true, "kali": true, "openeuler": true, "opensuse": true, "oracle": true,
	"rockylinux": true, "ubuntu": true,
}

func distros() []string {
	var ds []string
	for d := range distroToImage {
		ds = append(ds, d)
	}
	sort.Strings(ds)
	return ds
}

// archsFor returns the valid --arch values on a host of the given native
// architecture (images.Archs in OrbStack).
func archsFor(native string) []string {
	if native == "amd64" {
		return []string{"amd64", "i386"}
	}
	return []string{"arm64", "amd64"}
}

func resolveVersion(image, version string) string {
	if v, ok := imageVersionAliases[image][version]; ok {
		return v
	}
	return version
}

func imageExists(image, version string) bool {
	return slices.Contains(imageVersions[image], version)
}

var (
	// OrbStack's name rule (CLI reference §3.3): min 2 chars, no "_", no
	// leading "." or "-".
	nameRegex    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-.]+$`)
	reservedName = []string{"default", "vm", "host", "services", "gateway", "k8s", "docker"}
)

func validName(name string) bool {
	return nameRegex.MatchString(name) && !slices.Contains(reservedName, name)
}

// normalizeUser applies OrbStack's username rules (CLI reference §3.2):
// lower case, invalid characters become "_", the first character must be
// [a-z_], at most 32 characters.
func normalizeUser(u string) string {
	u = strings.ToLower(u)
	var b strings.Builder
	for _, r := range u {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" {
		return "user"
	}
	if c := s[0]; !(c >= 'a' && c <= 'z') && c != '_' {
		s = "_" + s
	}
	if len(s) > 32 {
		s = s[:32]
	}
	return s
}

// hostUser is the default Linux user when create gets no -u.
func hostUser() string {
	if u := os.Getenv(EnvUser); u != "" {
		return normalizeUser(u)
	}
	if u := os.Getenv("USER"); u != "" {
		return normalizeUser(u)
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return normalizeUser(u.Username)
	}
	return "user"
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newULID returns a ULID: 48 bits of milliseconds and 80 random bits in 26
// Crockford base32 characters.
func newULID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	// 128 bits -> 26 chars: the first char carries the top 3 bits.
	out := make([]byte, 26)
	var acc uint64
	var hi uint64 // the 128-bit value as two halves
	hi = uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	acc = uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
		uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[acc&31]
		acc = acc>>5 | (hi&31)<<59
		hi >>= 5
	}
	return string(out)
}

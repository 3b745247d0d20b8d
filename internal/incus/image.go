package incus

import (
	"fmt"
	"slices"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// DefaultImageServer is the remote consulted when no local image carries the
// wanted alias: the public image server that the incus client configures
// by default.
const DefaultImageServer = "images"

// DefaultVersions is the version a distro gets when Spec.Version is empty.
// A distro missing here needs an explicit version.
var DefaultVersions = map[string]string{
	"almalinux":  "9",
	"alpine":     "3.20",
	"archlinux":  "current",
	"centos":     "9-Stream",
	"debian":     "bookworm",
	"devuan":     "daedalus",
	"fedora":     "41",
	"opensuse":   "15.6",
	"rockylinux": "9",
	"ubuntu":     "24.04",
}

// distroNames maps other spellings (OrbStack's among them) to the image
// server's distro names.
var distroNames = map[string]string{
	"alma":  "almalinux",
	"arch":  "archlinux",
	"rocky": "rockylinux",
}

// ImageAlias is the image alias for a distro and version: "DISTRO/VERSION",
// for example debian + "12" -> "debian/bookworm", ubuntu + "noble" ->
// "ubuntu/24.04", alpine + "" -> "alpine/3.20" (see DefaultVersions). Debian
// is named by codename, Ubuntu by release number. The error wraps
// backend.ErrInvalid.
func ImageAlias(distro, version string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(distro))
	if n, ok := distroNames[d]; ok {
		d = n
	}
	if !validImageWord(d) {
		return "", fmt.Errorf("incus: invalid distro %q: %w", distro, backend.ErrInvalid)
	}
	v := strings.TrimSpace(version)
	if v == "" {
		def, ok := DefaultVersions[d]
		if !ok {
			return "", fmt.Errorf("incus: distro %q has no default version; set one: %w", distro, backend.ErrInvalid)
		}
		v = def
	}
	if !validImageWord(v) {
		return "", fmt.Errorf("incus: invalid version %q for distro %q: %w", version, distro, backend.ErrInvalid)
	}
	switch d {
	case "debian", "ubuntu": // one spelling (backend.CanonicalRelease)
		v = backend.CanonicalRelease(d, v)
	}
	return d + "/" + v, nil
}

// validImageWord accepts one segment of an alias: letters, digits, dots,
// hyphens and underscores, not starting with a hyphen or dot.
func validImageWord(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !isDigit(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// archNames maps Debian/Go architecture names to the kernel names Incus uses.
var archNames = map[string]string{
	"amd64":   "x86_64",
	"arm64":   "aarch64",
	"386":     "i686",
	"i386":    "i686",
	"armhf":   "armv7l",
	"arm":     "armv7l",
	"riscv64": "riscv64",
	"ppc64le": "ppc64le",
	"ppc64el": "ppc64le",
	"s390x":   "s390x",
}

// IncusArch is the Incus (kernel) name of a Debian/Go architecture name:
// amd64 -> x86_64, arm64 -> aarch64. Incus names are accepted as they are.
func IncusArch(arch string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(arch))
	if n, ok := archNames[a]; ok {
		return n, nil
	}
	switch a {
	case "x86_64", "aarch64", "i686", "armv7l":
		return a, nil
	}
	return "", fmt.Errorf("incus: unknown architecture %q: %w", arch, backend.ErrInvalid)
}

// DebianArch is the Debian/Go name of an Incus architecture: x86_64 ->
// amd64, aarch64 -> arm64; unknown names are returned as they are.
func DebianArch(arch string) string {
	switch arch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	case "i686":
		return "386"
	case "armv7l":
		return "armhf"
	}
	return arch
}

// ImageQuery is what image resolution needs to know about a Spec.
type ImageQuery struct {
	Alias     string // "debian/bookworm", from ImageAlias
	Arch      string // Incus architecture name; empty means the server's native one
	CloudInit bool   // user data requested: prefer a /cloud variant
}

// candidateAliases are the local aliases tried in order: the /cloud variant
// first when cloud-init is wanted, then the plain alias, each also with an
// architecture suffix when one is requested.
func (q ImageQuery) candidateAliases() []string {
	bases := []string{q.Alias}
	if q.CloudInit {
		bases = []string{q.Alias + "/cloud", q.Alias}
	}
	var out []string
	for _, b := range bases {
		out = append(out, b)
		if q.Arch != "" {
			out = append(out, b+"/"+DebianArch(q.Arch))
		}
	}
	return out
}

// PublicImageRef is the reference on the public image server for q:
// "images:ALIAS[/cloud][/ARCH]".
func PublicImageRef(server string, q ImageQuery) string {
	ref := server + ":" + q.Alias
	if q.CloudInit {
		ref += "/cloud"
	}
	if q.Arch != "" {
		ref += "/" + DebianArch(q.Arch)
	}
	return ref
}

// SelectLocalImage returns the local alias to use for q among images (as
// parsed from "incus image list"), or "" when none fits. Only container
// images count; with q.Arch set the image's architecture must match.
func SelectLocalImage(images []Image, q ImageQuery) string {
	for _, alias := range q.candidateAliases() {
		for _, img := range images {
			if img.Type != "" && img.Type != "container" {
				continue
			}
			if q.Arch != "" && img.Architecture != q.Arch {
				continue
			}
			if slices.Contains(img.Aliases, alias) {
				return alias
			}
		}
	}
	return ""
}

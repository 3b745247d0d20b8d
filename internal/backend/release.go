package backend

import (
	"context"
	"strings"
	"time"
)

// debianCodenames maps Debian release numbers to codenames.
var debianCodenames = map[string]string{
	"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky",
}

// ubuntuReleases maps Ubuntu codenames to release numbers.
var ubuntuReleases = map[string]string{
	"focal": "20.04", "jammy": "22.04", "noble": "24.04", "oracular": "24.10",
	"plucky": "25.04", "questing": "25.10", "resolute": "26.04",
}

// CanonicalRelease is the one spelling of a distro's release that both
// drivers and the template cache's key use, so that two spellings of one
// release are one release: Debian by codename ("12" -> "bookworm"), Ubuntu
// by number ("noble" -> "24.04"), everything else lower-cased as it is.
// It is pure.
func CanonicalRelease(distro, version string) string {
	v := strings.ToLower(strings.TrimSpace(version))
	switch strings.ToLower(strings.TrimSpace(distro)) {
	case "debian":
		if c, ok := debianCodenames[v]; ok {
			return c
		}
	case "ubuntu":
		if r, ok := ubuntuReleases[v]; ok {
			return r
		}
	}
	return v
}

// UbuntuCodename is the codename of an Ubuntu release number ("24.04" ->
// "noble"), or version as it is when it is not a known number.
func UbuntuCodename(version string) string {
	for c, r := range ubuntuReleases {
		if r == version {
			return c
		}
	}
	return version
}

// Image is what an [ImageIdentifier] says about the image a spec's machine
// is created from.
type Image struct {
	// ID names the image's content: the same ID, the same image. Incus:
	// the fingerprint its alias resolves to; OrbStack: distro, release
	// and arch, since its index moves under one name.
	ID string
	// Ref is the alias or name the image was found by, for people.
	Ref string
	// MaxAge bounds how long a machine made from the image stands for it
	// (0: for ever, the ID pins the content).
	MaxAge time.Duration
}

// ImageIdentifier is implemented by drivers that can say which image a
// spec's machine would be created from, without creating one. The
// template cache keys its entries by it.
type ImageIdentifier interface {
	ImageID(ctx context.Context, spec Spec) (Image, error)
}

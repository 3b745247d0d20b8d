package orbtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// The template cache's key.
//
// A cache entry is found by what its template contains, never by where
// the spec came from: the same spec in two checkouts is one entry, and one
// byte more in a copied file is another.

// cacheFormat is the version of how orbtest builds and seals a template.
// A change to that (the build steps, the seal, what a clone does at its
// first boot) changes it, so that no entry built the old way is used.
const cacheFormat = "1"

// keyInput is everything a provisioned template is made of.
type keyInput struct {
	Backend, BackendVersion, Remote string
	Image                           string // the image's identity (backend.Image.ID)
	Distro, Version                 string // as the spec says; Version is normalized by cacheKey
	Arch, User, CloudInit           string
	Setup                           []string
	Files                           []keyFile // in the spec's order: a later copy may overwrite an earlier one
	CPUs, MemoryMiB, DiskMiB        int
	HostAccess                      bool
	Proxy                           string // ORBTEST_PACKAGE_PROXY, configured in the machine
}

// keyFile is one copied file as the machine holds it.
type keyFile struct {
	Guest  string
	Mode   fs.FileMode // permission bits
	SHA256 string      // of the content, hex
}

// cacheKey is the content key of a template: a hex SHA-256 over every
// field of in, each named and quoted so that no two inputs run together.
// The release is normalized first (Debian "12" and "bookworm" are one key;
// see backend.CanonicalRelease), as are the distro's case and the
// architecture "" (the host's). It is pure.
func cacheKey(in keyInput) string {
	h := sha256.New()
	field := func(k, v string) { fmt.Fprintf(h, "%s=%s\x00", k, strconv.Quote(v)) }
	field("format", cacheFormat)
	field("backend", in.Backend)
	field("backend-version", in.BackendVersion)
	field("remote", in.Remote)
	field("image", in.Image)
	field("distro", strings.ToLower(in.Distro))
	field("release", backend.CanonicalRelease(in.Distro, in.Version))
	field("arch", in.Arch)
	field("user", in.User)
	field("cloud-init", in.CloudInit)
	field("setup-steps", strconv.Itoa(len(in.Setup)))
	for _, s := range in.Setup {
		field("setup", s)
	}
	field("files", strconv.Itoa(len(in.Files)))
	for _, f := range in.Files {
		field("file", f.Guest)
		field("mode", fmt.Sprintf("%04o", f.Mode.Perm()))
		field("sha256", f.SHA256)
	}
	field("cpus", strconv.Itoa(in.CPUs))
	field("memory", strconv.Itoa(in.MemoryMiB))
	field("disk", strconv.Itoa(in.DiskMiB))
	field("host-access", strconv.FormatBool(in.HostAccess))
	field("proxy", in.Proxy)
	return hex.EncodeToString(h.Sum(nil))
}

// keyFileOf reads the host file to be copied to guest: its mode and a
// hash of its content.
func keyFileOf(host, guest string) (keyFile, error) {
	f, err := os.Open(host)
	if err != nil {
		return keyFile{}, fmt.Errorf("orbtest: read %q for the spec: %w", host, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return keyFile{}, fmt.Errorf("orbtest: read %q for the spec: %w", host, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return keyFile{}, fmt.Errorf("orbtest: read %q for the spec: %w", host, err)
	}
	return keyFile{Guest: guest, Mode: fi.Mode().Perm(), SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

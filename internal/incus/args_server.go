package incus

import (
	"fmt"
	"slices"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// The builders of this file ask the server about itself and its images,
// not about one instance.

// CurrentProject builds "project get-current [remote:]": the project the
// client uses on the remote.
func (b Builder) CurrentProject() ([]string, error) {
	r, err := b.remoteArg()
	if err != nil {
		return nil, err
	}
	return append([]string{"project", "get-current"}, r...), nil
}

// ImageList builds "image list [remote:] --format json": every image of the
// remote, filtered by the caller.
func (b Builder) ImageList() ([]string, error) {
	r, err := b.remoteArg()
	if err != nil {
		return nil, err
	}
	return slices.Concat([]string{"image", "list"}, r, []string{"--format", "json"}), nil
}

// ImageInfo builds "image info REF": one image's description, whose
// "Fingerprint:" line says which image an alias names. REF is an image
// reference as ResolveImage returns it ("alias", "remote:alias").
func (b Builder) ImageInfo(ref string) ([]string, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("incus: bad image reference %q: %w", ref, backend.ErrInvalid)
	}
	return []string{"image", "info", ref}, nil
}

// Version builds "version [remote:]": client and server versions. It exits 0
// even when the server is unreachable ("Server version: unreachable").
func (b Builder) Version() ([]string, error) {
	r, err := b.remoteArg()
	if err != nil {
		return nil, err
	}
	return append([]string{"version"}, r...), nil
}

// ServerInfo builds "query [remote:]/1.0": the server's description as JSON
// (what "incus info" prints as YAML). It fails when the server is
// unreachable.
func (b Builder) ServerInfo() ([]string, error) {
	if err := ValidateRemote(b.Remote); err != nil {
		return nil, err
	}
	return []string{"query", instanceRef(b.Remote, "/1.0")}, nil
}

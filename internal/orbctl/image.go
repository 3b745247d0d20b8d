package orbctl

import (
	"cmp"
	"context"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// ImageMaxAge is how long a machine made from an OrbStack image stands for
// the image: OrbStack's index moves images under one distro and version
// (security updates), and tells no fingerprint before a download.
const ImageMaxAge = 7 * 24 * time.Hour

// ImageID identifies the image spec's machine is created from by what
// OrbStack's index is keyed by: distro, release (one spelling, see
// [backend.CanonicalRelease]) and architecture ("native" when unset). It
// runs nothing.
func (d *Driver) ImageID(_ context.Context, spec backend.Spec) (backend.Image, error) {
	rel := backend.CanonicalRelease(spec.Distro, spec.Version)
	ref := spec.Distro + ":" + rel
	return backend.Image{
		ID:     "orbstack:" + ref + "/" + cmp.Or(spec.Arch, "native"),
		Ref:    ref,
		MaxAge: ImageMaxAge,
	}, nil
}

var _ backend.ImageIdentifier = (*Driver)(nil)

package incus

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// resolved is what ResolveImage found for one query.
type resolved struct {
	ref         string   // what incus init is given
	fingerprint string   // the local image's; "" for one on the image server
	alias       string   // the alias looked for (DISTRO/VERSION)
	local       []string // every local alias, for the error of a missing image
}

// ResolveImage returns the image reference for spec, cached per driver: a
// local image whose alias is DISTRO/VERSION (see ImageAlias) on the driver's
// remote wins (its /cloud variant first when spec.CloudInit is set);
// otherwise the image server's "images:DISTRO/VERSION[/cloud][/ARCH]". With
// spec.Arch set, the server must support that architecture.
func (d *Driver) ResolveImage(ctx context.Context, spec backend.Spec) (string, error) {
	r, err := d.resolve(ctx, spec)
	return r.ref, err
}

// ImageID says which image spec's container is created from: the
// fingerprint of the local image its alias resolves to now. An image only
// the image server has is identified by asking the server; when it cannot
// be reached the error says what to do.
func (d *Driver) ImageID(ctx context.Context, spec backend.Spec) (backend.Image, error) {
	r, err := d.resolve(ctx, spec)
	if err != nil {
		return backend.Image{}, err
	}
	if r.fingerprint != "" {
		return backend.Image{ID: "sha256:" + r.fingerprint, Ref: r.ref}, nil
	}
	args, err := d.b.ImageInfo(r.ref)
	if err != nil {
		return backend.Image{}, err
	}
	res, err := d.run(ctx, backend.OpQuery, args)
	if err != nil {
		return backend.Image{}, missingImage(r, wrap("image info", r.ref, err))
	}
	fp := ParseImageFingerprint(res.Stdout)
	if fp == "" {
		return backend.Image{}, fmt.Errorf("incus image info %q: no fingerprint in its output", r.ref)
	}
	return backend.Image{ID: "sha256:" + fp, Ref: r.ref}, nil
}

func (d *Driver) resolve(ctx context.Context, spec backend.Spec) (resolved, error) {
	alias, err := ImageAlias(spec.Distro, spec.Version)
	if err != nil {
		return resolved{}, err
	}
	q := ImageQuery{Alias: alias, CloudInit: len(spec.CloudInit) > 0}
	if spec.Arch != "" {
		if q.Arch, err = IncusArch(spec.Arch); err != nil {
			return resolved{}, err
		}
	}
	d.mu.Lock()
	r, ok := d.images[q]
	d.mu.Unlock()
	if ok {
		return r, nil
	}
	if q.Arch != "" {
		if err := d.checkArch(ctx, q.Arch, spec.Arch); err != nil {
			return resolved{}, err
		}
	}
	args, err := d.b.ImageList()
	if err != nil {
		return resolved{}, err
	}
	res, err := d.run(ctx, backend.OpQuery, args)
	if err != nil {
		return resolved{}, wrap("image list", d.b.Remote, err)
	}
	imgs, err := ParseImages(res.Stdout)
	if err != nil {
		return resolved{}, err
	}
	r = resolved{alias: alias, local: LocalAliases(imgs)}
	if local := SelectLocalImage(imgs, q); local != "" {
		r.ref = d.b.ImageRef(local)
		r.fingerprint = fingerprintOf(imgs, local)
	} else if d.imageServer != "" {
		r.ref = PublicImageRef(d.imageServer, q)
	} else {
		return resolved{}, missingImage(r, fmt.Errorf("incus: no local image %q%s: %w", alias, archNote(spec.Arch), backend.ErrInvalid))
	}
	d.mu.Lock()
	d.images[q] = r
	d.mu.Unlock()
	return r, nil
}

// missingImage is the error of an image that is neither local nor to be
// had from the image server: not transient, since retrying cannot make
// one. It says which alias was looked for, which local aliases there are
// and how to add one; err is the failure behind it.
func missingImage(r resolved, err error) error {
	have := "none"
	if len(r.local) > 0 {
		have = strings.Join(r.local, ", ")
	}
	add := fmt.Sprintf("incus image copy %s:%s local: --alias %s", DefaultImageServer, r.alias, r.alias)
	return fmt.Errorf("incus: image %q: no local image has the alias (local aliases: %s), and the image server could not provide it; add one with %q on a host that reaches the image server, or import one as scripts/setup-incus.sh does: %w: %w",
		r.alias, have, add, backend.ErrInvalid, stripTransient(err))
}

// stripTransient keeps err's text but not its class, so that a missing
// image is never retried.
func stripTransient(err error) error { return fmt.Errorf("%s", err.Error()) }

// LocalAliases lists the aliases of the container images in imgs, sorted.
func LocalAliases(imgs []Image) []string {
	var out []string
	for _, img := range imgs {
		if img.Type != "" && img.Type != "container" {
			continue
		}
		out = append(out, img.Aliases...)
	}
	return sortedStrings(out)
}

func fingerprintOf(imgs []Image, alias string) string {
	for _, img := range imgs {
		for _, a := range img.Aliases {
			if a == alias {
				return img.Fingerprint
			}
		}
	}
	return ""
}

func archNote(arch string) string {
	if arch == "" {
		return ""
	}
	return " for " + arch
}

// checkArch fails unless the server runs containers of architecture arch.
func (d *Driver) checkArch(ctx context.Context, arch, asked string) error {
	d.mu.Lock()
	known := d.arches
	d.mu.Unlock()
	if known == nil {
		if _, err := d.serverInfo(ctx); err != nil {
			return err
		}
		d.mu.Lock()
		known = d.arches
		d.mu.Unlock()
	}
	if known[arch] {
		return nil
	}
	have := make([]string, 0, len(known))
	for a := range known {
		have = append(have, DebianArch(a))
	}
	return fmt.Errorf("incus: architecture %q unavailable on this server (it runs %s): %w",
		asked, strings.Join(sortedStrings(have), ", "), backend.ErrInvalid)
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}

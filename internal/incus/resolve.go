package incus

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// ResolveImage returns the image reference for spec, cached per driver: a
// local image whose alias is DISTRO/VERSION (see ImageAlias) on the driver's
// remote wins (its /cloud variant first when spec.CloudInit is set);
// otherwise the image server's "images:DISTRO/VERSION[/cloud][/ARCH]". With
// spec.Arch set, the server must support that architecture.
func (d *Driver) ResolveImage(ctx context.Context, spec backend.Spec) (string, error) {
	alias, err := ImageAlias(spec.Distro, spec.Version)
	if err != nil {
		return "", err
	}
	q := ImageQuery{Alias: alias, CloudInit: len(spec.CloudInit) > 0}
	if spec.Arch != "" {
		if q.Arch, err = IncusArch(spec.Arch); err != nil {
			return "", err
		}
	}
	d.mu.Lock()
	ref, ok := d.images[q]
	d.mu.Unlock()
	if ok {
		return ref, nil
	}
	if q.Arch != "" {
		if err := d.checkArch(ctx, q.Arch, spec.Arch); err != nil {
			return "", err
		}
	}
	args, err := d.b.ImageList()
	if err != nil {
		return "", err
	}
	res, err := d.run(ctx, backend.OpQuery, args)
	if err != nil {
		return "", wrap("image list", d.b.Remote, err)
	}
	imgs, err := ParseImages(res.Stdout)
	if err != nil {
		return "", err
	}
	if local := SelectLocalImage(imgs, q); local != "" {
		ref = d.b.ImageRef(local)
	} else if d.imageServer != "" {
		ref = PublicImageRef(d.imageServer, q)
	} else {
		return "", fmt.Errorf("incus: no local image %q%s: %w (%s)", alias, archNote(spec.Arch), backend.ErrInvalid, SetupHint)
	}
	d.mu.Lock()
	d.images[q] = ref
	d.mu.Unlock()
	return ref, nil
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

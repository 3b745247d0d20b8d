package incus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// Create creates and starts a container: resolve the image, "incus init"
// with the spec's limits, cloud-init user data and default user recorded in
// config key user.orbtest.user, "incus start", then (when spec.User is set)
// create that user with passwordless sudo. It returns once the container
// runs. When it fails for any reason but ErrExists it deletes the container
// (if there is one), so nothing is left behind.
//
// Unlike OrbStack, whose default user is the Mac user, a machine created
// with an empty spec.User has root as its default user. spec.HostAccess is
// unsupported: Incus machines never share the host's files.
func (d *Driver) Create(ctx context.Context, name string, spec backend.Spec) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if spec.HostAccess {
		return fmt.Errorf("incus create %q: host access (shared files, keys, agent): %w", name, backend.ErrUnsupported)
	}
	if spec.User != "" && spec.User != "root" {
		if err := backend.CheckUser(spec.User); err != nil {
			return fmt.Errorf("incus create %q: %w", name, err)
		}
	}
	img, err := d.resolve(ctx, spec)
	if err != nil {
		return fmt.Errorf("incus create %q: %w", name, err)
	}
	image := img.ref
	opts := InitOptions{CPUs: spec.CPUs, MemoryMiB: spec.MemoryMiB, DiskMiB: spec.DiskMiB, CloudInit: spec.CloudInit}
	if spec.User != "" && spec.User != "root" {
		opts.Config = map[string]string{UserConfigKey: spec.User}
	}
	args, err := d.b.Init(image, name, opts)
	if err != nil {
		return err
	}
	d.forget(name)
	if _, err := d.run(ctx, backend.OpCreate, args); err != nil {
		werr := wrap("create", name, err)
		if !errors.Is(werr, backend.ErrExists) {
			d.cleanup(ctx, name) // a timed-out init may have left a record
		}
		if img.fingerprint == "" && isImageError(werr.Error()) {
			// Only the image server could have had it, and it did not.
			return fmt.Errorf("incus create %q: %w", name, missingImage(img, werr))
		}
		return werr
	}
	if err := d.boot(ctx, name, spec.User); err != nil {
		d.cleanup(ctx, name)
		return err
	}
	return nil
}

// boot starts a freshly created container and adds its default user.
func (d *Driver) boot(ctx context.Context, name, user string) error {
	if err := d.Start(ctx, name); err != nil {
		return err
	}
	if user == "" || user == "root" {
		return nil
	}
	return d.addUser(ctx, name, user)
}

// cleanup deletes a half-built container, whatever ctx says.
func (d *Driver) cleanup(ctx context.Context, name string) {
	_ = d.Delete(context.WithoutCancel(ctx), name) // best effort: the caller reports the first error
}

// Clone copies src to a new, stopped container dst ("incus copy
// --instance-only"; copy-on-write on btrfs). src may be running.
func (d *Driver) Clone(ctx context.Context, src, dst string) error {
	args, err := d.b.Copy(src, dst)
	if err != nil {
		return err
	}
	d.forget(dst)
	if _, err := d.run(ctx, backend.OpClone, args); err != nil {
		return wrapAs(fmt.Sprintf("incus copy %q to %q", src, dst), err)
	}
	return nil
}

// Start starts a container and returns once it runs. Starting a running
// container is not an error.
//
// Incus gives a new container's NIC a random MAC address and refuses to
// start it when another instance's NIC has the same one, even a stopped
// instance's (a cache entry): then Start has Incus forget the address,
// which makes it pick a new one, and starts the container once more.
func (d *Driver) Start(ctx context.Context, name string) error {
	args, err := d.b.Start(name)
	if err != nil {
		return err
	}
	_, err = d.run(ctx, backend.OpStart, args)
	if dev, ok := takenMAC(stderrOf(err)); ok {
		err = d.repickMAC(ctx, name, dev, args)
	}
	if err == nil || alreadyIn(err, "running") {
		return nil
	}
	return wrap("start", name, err)
}

// repickMAC forgets the MAC address of the NIC dev of container name, whose
// start failed because another NIC has it, and runs start (args) again.
func (d *Driver) repickMAC(ctx context.Context, name, dev string, args []string) error {
	unset, err := d.b.UnsetHWAddr(name, dev)
	if err != nil {
		return err
	}
	if _, err := d.run(ctx, backend.OpStart, unset); err != nil {
		return fmt.Errorf("forget the MAC address of %s, which another NIC has: %w", dev, err)
	}
	_, err = d.run(ctx, backend.OpStart, args)
	return err
}

// stopGrace is how long Stop waits for a clean shutdown before it kills.
const stopGrace = 20 * time.Second

// Stop shuts a container down cleanly, and kills it when that takes longer
// than 20s. Stopping a stopped container is not an error.
func (d *Driver) Stop(ctx context.Context, name string) error {
	args, err := d.b.Stop(name, StopOptions{Timeout: stopGrace})
	if err != nil {
		return err
	}
	_, err = d.run(ctx, backend.OpStop, args)
	if err == nil || alreadyIn(err, "stopped") {
		return nil
	}
	if werr := wrap("stop", name, err); errors.Is(werr, backend.ErrNotFound) || errors.Is(werr, backend.ErrUnavailable) || ctx.Err() != nil {
		return werr
	}
	args, _ = d.b.Stop(name, StopOptions{Force: true})
	if _, err := d.run(ctx, backend.OpStop, args); err != nil && !alreadyIn(err, "stopped") {
		return wrap("stop", name, err)
	}
	return nil
}

// Restart reboots a running container cleanly, and kills and starts it
// when the clean shutdown takes longer than 20s. It returns once the
// container runs again. A start refused for a taken MAC address is
// handled as in Start.
func (d *Driver) Restart(ctx context.Context, name string) error {
	args, err := d.b.Restart(name, StopOptions{Timeout: stopGrace})
	if err != nil {
		return err
	}
	_, err = d.run(ctx, backend.OpRestart, args)
	if taken, serr := d.startIfMACTaken(ctx, name, err); taken {
		return serr
	}
	if err == nil {
		return nil
	}
	if werr := wrap("restart", name, err); errors.Is(werr, backend.ErrNotFound) || errors.Is(werr, backend.ErrUnavailable) || ctx.Err() != nil {
		return werr
	}
	args, _ = d.b.Restart(name, StopOptions{Force: true})
	_, err = d.run(ctx, backend.OpRestart, args)
	if taken, serr := d.startIfMACTaken(ctx, name, err); taken {
		return serr
	}
	return wrap("restart", name, err)
}

// startIfMACTaken handles err of a restart or restore that incus could not
// finish because another NIC has the container's MAC address: incus left
// the container stopped, and Start starts it with a new address. taken is
// false, and nothing runs, for any other err.
func (d *Driver) startIfMACTaken(ctx context.Context, name string, err error) (taken bool, serr error) {
	if _, ok := takenMAC(stderrOf(err)); !ok {
		return false, nil
	}
	return true, d.Start(ctx, name)
}

// alreadyIn reports whether err is incus refusing a transition because the
// instance already is in state ("The instance is already running").
func alreadyIn(err error, state string) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "is already "+state)
}

// Delete force-deletes a container, running or not. A missing container
// is an error wrapping backend.ErrNotFound.
func (d *Driver) Delete(ctx context.Context, name string) error {
	args, err := d.b.Delete(name)
	if err != nil {
		return err
	}
	d.forget(name)
	if _, err := d.run(ctx, backend.OpDelete, args); err != nil {
		return wrap("delete", name, err)
	}
	return nil
}

// Inspect reports one container: `incus query` of the one instance in
// the client's current project on the remote, or, where that project
// cannot be learnt, "incus list ^NAME$ --format json" (which has the
// server gather every instance of the project with its state).
func (d *Driver) Inspect(ctx context.Context, name string) (backend.Machine, error) {
	args, err := d.b.ListOne(name)
	one := false
	if p := d.currentProject(ctx); p != "" && err == nil {
		args, err = d.b.InstanceQuery(name, p)
		one = true
	}
	if err != nil {
		return backend.Machine{}, err
	}
	res, err := d.run(ctx, backend.OpQuery, args)
	if err != nil {
		return backend.Machine{}, wrap("inspect", name, err)
	}
	out := res.Stdout
	if one {
		out = slices.Concat([]byte("["), out, []byte("]"))
	}
	ms, err := ParseList(out)
	if err != nil {
		return backend.Machine{}, fmt.Errorf("incus inspect %q: %w", name, err)
	}
	for _, m := range ms {
		if m.Name == name {
			d.mu.Lock()
			d.defs[name] = m.User
			d.mu.Unlock()
			return m, nil
		}
	}
	return backend.Machine{}, fmt.Errorf("incus inspect %q: no such instance: %w", name, backend.ErrNotFound)
}

// currentProject is the client's project on the driver's remote ("project
// get-current"), asked once; "" when the client cannot say.
func (d *Driver) currentProject(ctx context.Context) string {
	d.mu.Lock()
	p, known := d.project, d.projectKnown
	d.mu.Unlock()
	if known {
		return p
	}
	args, err := d.b.CurrentProject()
	if err != nil {
		return ""
	}
	res, err := d.run(ctx, backend.OpQuery, args)
	if ctx.Err() != nil {
		return "" // ask again next time
	}
	if err == nil {
		p = strings.TrimSpace(string(res.Stdout))
		if strings.ContainsAny(p, " \t\n/?&#") {
			p = ""
		}
	}
	d.mu.Lock()
	d.project, d.projectKnown = p, true
	d.mu.Unlock()
	return p
}

// ConsoleLog returns the container's console log: what its init wrote in
// its last boot, which says why a container stopped during boot.
func (d *Driver) ConsoleLog(ctx context.Context, name string) (string, error) {
	args, err := d.b.ConsoleLog(name)
	if err != nil {
		return "", err
	}
	res, err := d.run(ctx, backend.OpQuery, args)
	if err != nil {
		return "", wrap("console log", name, err)
	}
	return string(res.Stdout), nil
}

// List reports every instance in the remote's current project.
func (d *Driver) List(ctx context.Context) ([]backend.Machine, error) {
	args, err := d.b.List()
	if err != nil {
		return nil, err
	}
	res, err := d.run(ctx, backend.OpQuery, args)
	if err != nil {
		return nil, wrap("list", d.b.Remote, err)
	}
	ms, err := ParseList(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("incus list: %w", err)
	}
	return ms, nil
}

// Snapshot takes a (stateless) snapshot of a container, running or not.
func (d *Driver) Snapshot(ctx context.Context, name, snapshot string) error {
	args, err := d.b.SnapshotCreate(name, snapshot)
	if err != nil {
		return err
	}
	if _, err := d.run(ctx, backend.OpSnapshot, args); err != nil {
		return wrapAs(fmt.Sprintf("incus snapshot %q of %q", snapshot, name), err)
	}
	return nil
}

// Restore rolls a container back to a snapshot. A running container is
// stopped, restored and started again by incus itself; Restore then checks
// that it runs, so it leaves the machine in the state it found it.
func (d *Driver) Restore(ctx context.Context, name, snapshot string) error {
	args, err := d.b.SnapshotRestore(name, snapshot)
	if err != nil {
		return err
	}
	before, err := d.Inspect(ctx, name)
	if err != nil {
		return err
	}
	d.forget(name)
	if _, err := d.run(ctx, backend.OpSnapshot, args); err != nil {
		if before.State == backend.StateRunning {
			if taken, serr := d.startIfMACTaken(ctx, name, err); taken {
				return serr
			}
		}
		return wrapAs(fmt.Sprintf("incus restore %q to %q", name, snapshot), err)
	}
	if before.State != backend.StateRunning {
		return nil
	}
	after, err := d.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if after.State != backend.StateRunning {
		return d.Start(ctx, name)
	}
	return nil
}

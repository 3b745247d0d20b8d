// Package incus drives Incus system containers through the incus CLI; it
// implements backend.Driver for Linux hosts and CI.
//
// The package has the shape of every orbtest driver (docs/ARCHITECTURE.md):
// Builder's methods are pure argv builders (validated, no I/O), cmdrun.Run
// is the only way a command runs, ParseList, ParseImages, ParseVersion and
// ParseServerInfo read incus's output, and Classify maps incus's error
// messages (captured from incus 6.0 in testdata/stderr.tsv) to the backend
// error classes. Every failure wraps both its class and the
// *cmdrun.CommandError.
//
// # Names and remotes
//
// Instance names are checked before anything runs (ValidateName): letters,
// digits and hyphens, starting with a letter, at most 63 characters. With
// WithRemote (callers read $ORBTEST_INCUS_REMOTE) every instance and image
// reference becomes "remote:name". No user string can turn into an incus
// flag: names are validated, values are joined to their flag ("--cwd=DIR",
// "--env=K=V"), exec's argv and file paths follow "--", and relative host
// paths get a "./" prefix.
//
// # Images
//
// A Spec's distro and version name an alias "DISTRO/VERSION" (ImageAlias:
// debian 12 -> debian/bookworm, ubuntu noble -> ubuntu/24.04; an empty
// version takes DefaultVersions). A local image with that alias on the
// target remote wins (scripts/setup-incus.sh imports debian/bookworm);
// otherwise the public server is used: images:ALIAS, with /cloud when
// cloud-init user data is given and /ARCH when an architecture is. An
// architecture the server cannot run is an ErrInvalid before anything is
// created. Resolutions are cached per Driver.
//
// # Differences from OrbStack
//
//   - The default user is root unless Spec.User is set; then Create adds
//     that user (home directory, passwordless sudo in /etc/sudoers.d) and
//     records it in the instance config key user.orbtest.user, which
//     Inspect reports and Exec, Push and clones use.
//   - Machines are always isolated: Spec.HostAccess is ErrUnsupported.
//   - Exec passes uid and gid (looked up with getent passwd, cached) and
//     sets HOME, USER and LOGNAME; supplementary groups are not set.
//   - Pushed files keep their host mode and are owned by the default user.
//   - Clone is "incus copy --instance-only": copy-on-write on btrfs, the
//     source may be running, the copy is stopped.
//   - Restore of a running container: incus stops, restores and restarts
//     it; Restore checks that it runs again.
//   - Incus picks a NIC's MAC address at random (24 bits) when it creates
//     an instance and refuses to start one whose address another
//     instance's NIC has, stopped ones included. Start then unsets
//     volatile.DEVICE.hwaddr, which makes Incus pick a new address, and
//     starts once more.
//
// # Exec exit codes
//
// The incus client ends every failure with a line "Error: ..." on stderr
// and status 1 (127 for "Command not found"). A guest program can print
// the same, so when a non-zero status comes with such a line Exec asks
// incus for the instance: if it runs, the status is the guest's; if not,
// Exec returns an error (ErrNotFound when the instance is gone, ErrInvalid
// when it is stopped, ErrUnavailable when the daemon is down).
package incus

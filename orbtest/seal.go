package orbtest

import (
	"context"
	"fmt"
)

// Identity of clones.
//
// Every clone of a template would otherwise share the template's
// machine-id and SSH host keys. Sealing a template empties its
// /etc/machine-id (systemd makes a new one at the clone's first boot) and
// removes its SSH host keys; each clone, once booted, makes what is still
// missing: a machine-id where no init made one, and host keys where the
// image has ssh-keygen, restarting sshd. Both scripts use paths relative to
// the machine's / (where commands start), so they mean the same on every
// backend, the fake orbctl's directory machines included.

// sealScript runs as root in a template just before it is stopped.
const sealScript = `sync
if [ -f etc/machine-id ]; then : > etc/machine-id; fi
if [ -f var/lib/dbus/machine-id ] && [ ! -L var/lib/dbus/machine-id ]; then rm -f var/lib/dbus/machine-id; fi
rm -f etc/ssh/ssh_host_*_key etc/ssh/ssh_host_*_key.pub
sync`

// identityScript runs as root in a clone once it has booted.
const identityScript = `if [ -f etc/machine-id ] && [ ! -s etc/machine-id ]; then
  if command -v systemd-machine-id-setup >/dev/null 2>&1 && [ "$PWD" = / ]; then systemd-machine-id-setup >/dev/null 2>&1; fi
  [ -s etc/machine-id ] || tr -d '-' < /proc/sys/kernel/random/uuid > etc/machine-id
fi
if [ -d etc/ssh ] && ! ls etc/ssh/ssh_host_*_key >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
  ssh-keygen -A -f "$PWD" >/dev/null
  if command -v systemctl >/dev/null 2>&1 && [ "$PWD" = / ]; then
    for u in ssh sshd; do
      if systemctl is-enabled --quiet "$u" 2>/dev/null; then systemctl reset-failed "$u" 2>/dev/null; systemctl restart "$u" 2>/dev/null || true; fi
    done
  fi
fi
true`

// seal prepares the running template vm to be cloned: see sealScript.
func (vm *VM) seal(ctx context.Context) error {
	if _, err := vm.exec(ctx, ShellCommand(sealScript).AsUser("root").InDir("/")); err != nil {
		return &stepError{step: "seal", err: fmt.Errorf("clear the machine's identity: %w", err)}
	}
	return nil
}

// newIdentity gives the freshly booted clone vm an identity of its own:
// see identityScript.
func (vm *VM) newIdentity(ctx context.Context) error {
	if _, err := vm.exec(ctx, ShellCommand(identityScript).AsUser("root").InDir("/")); err != nil {
		return fmt.Errorf("new identity: %w", err)
	}
	return nil
}

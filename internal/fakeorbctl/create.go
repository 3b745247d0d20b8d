package fakeorbctl

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

func createLong() string {
	return `Create a new machine with the specified distribution.

Version is optional; the latest stable version will be used if not specified.
To remove a machine, use "orbctl delete".

By default, a Linux user will be created with the same name as your macOS user. Use "--user" to change the name, and "--set-password" to set a password for both this user and root.

Supported distros: ` + strings.Join(distros(), "  ") + `
`
}

func createFlags(v version) []flagSpec {
	fs := []flagSpec{
		{"user", "u", stringFlag, "Username for the default user"},
		{"set-password", "p", boolFlag, "Set a password for the default user"},
		{"arch", "a", stringFlag, "Override the default architecture"},
		{"user-data", "c", stringFlag, "Path to Cloud-init user data file (for automatic setup)"},
	}
	if v.atLeast(2, 1, 0) {
		fs = append(fs, flagSpec{"isolated", "", boolFlag, "Isolate the machine from macOS"})
	}
	if v.atLeast(2, 2, 0) {
		fs = append(fs,
			flagSpec{"cpus", "", intFlag, "CPU limit"},
			flagSpec{"memory", "", stringFlag, "Memory limit (e.g. 4G, 2048M)"},
			flagSpec{"disk", "", stringFlag, "Disk size limit (e.g. 64G)"})
	}
	return fs
}

var sizeRegex = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?([KMGT]i?B?)?$`)

func cmdCreate(e *env, c *command, p *parsedFlags) int {
	createFail, err := envInt(EnvCreateFail)
	if err != nil {
		return e.fail(err)
	}
	createHang, err := envInt(EnvCreateHang)
	if err != nil {
		return e.fail(err)
	}
	delay, err := envDuration(EnvCreateDelay)
	if err != nil {
		return e.fail(err)
	}

	// Client side, in orbctl's order: arch, password, distro, user data.
	arch := e.native
	if a := p.str("arch"); a != "" {
		arch = a
		if !slices.Contains(archsFor(e.native), arch) {
			return e.usageErr(c, "invalid architecture: "+arch)
		}
	}
	if p.bool("set-password") {
		fmt.Fprint(e.stdout, "Password for Linux user: ")
		f, ok := e.stdin.(*os.File)
		if !ok || !isTerminal(f) {
			// term.ReadPassword on a pipe fails with ENOTTY.
			fmt.Fprintln(e.stderr, "inappropriate ioctl for device")
			return 1
		}
		if _, err := bufio.NewReader(f).ReadString('\n'); err != nil {
			return e.fail(err)
		}
		fmt.Fprintln(e.stdout)
	}
	distro, version, hasVersion := strings.Cut(p.args[0], ":")
	image, ok := distroToImage[distro]
	if !ok {
		return e.usageErr(c, "invalid distro: "+distro)
	}
	if !hasVersion {
		version = imageLatest[image]
	}
	name := distro
	if len(p.args) > 1 {
		name = p.args[1]
	}
	userData := p.has("user-data") && p.str("user-data") != ""
	var data []byte
	if userData {
		if data, err = os.ReadFile(p.str("user-data")); err != nil {
			return e.fail(err)
		}
	}
	for _, f := range []string{"memory", "disk"} {
		if v := p.str(f); p.has(f) && !sizeRegex.MatchString(v) {
			return e.usageErr(c, fmt.Sprintf("invalid argument %q for %q flag: invalid size", v, "--"+f))
		}
	}
	cpus := 0
	if p.has("cpus") {
		fmt.Sscan(p.str("cpus"), &cpus)
	}

	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}

	// Daemon side.
	username := hostUser()
	if u := p.str("user"); u != "" {
		username = normalizeUser(u)
	}
	createErr := func(msg string) error { return rpcErr(fmt.Sprintf("create '%s': %s", name, msg)) }
	var rec *Record
	var fail, hang bool
	err = e.st.withLock(func() error {
		if !validName(name) {
			return createErr(fmt.Sprintf("invalid machine name '%s'", name))
		}
		if _, err := os.Stat(e.st.machineDir(name)); err == nil {
			return createErr(fmt.Sprintf("machine already exists: '%s'", name))
		}
		if userData && !cloudImages[image] {
			return createErr(fmt.Sprintf("cloud-init not supported for '%s'", image))
		}
		if version == "" {
			version = imageLatest[image]
		}
		version = resolveVersion(image, version)
		variant := "default"
		if v, ok := imageDefaultVariant[image]; ok {
			variant = v
		}
		if userData {
			variant = "cloud"
		}
		spec := ImageSpec{Distro: image, Version: version, Arch: arch, Variant: variant}
		if !imageExists(image, version) {
			return createErr(fmt.Sprintf("make rootfs: image not found: {%s %s %s %s}", image, version, arch, variant))
		}
		var err error
		if fail, err = e.st.take("create_fail", createFail); err != nil {
			return err
		}
		if !fail {
			if hang, err = e.st.take("create_hang", createHang); err != nil {
				return err
			}
		}
		seq, err := e.st.nextSeq()
		if err != nil {
			return err
		}
		rec = &Record{
			ID: newULID(), Name: name, Image: spec,
			Config: MachineConfig{Isolated: p.bool("isolated"), DefaultUsername: username},
			State:  stateCreating,
		}
		m := meta{Seq: seq, Created: time.Now().UTC(), CloudInit: userData, CPUs: cpus,
			Memory: p.str("memory"), Disk: p.str("disk")}
		return e.st.makeMachine(rec, m, data)
	})
	if err != nil {
		return e.fail(err)
	}

	time.Sleep(delay)

	var cleanup func()
	err = e.st.withLock(func() error {
		r, err := e.st.readRecord(name)
		if err != nil || r.ID != rec.ID {
			return createErr("start: machine was deleted while being created")
		}
		if fail {
			if cleanup, err = e.st.removeMachine(r); err != nil {
				return err
			}
			return createErr("setup: machine didn't start in 30s (missing IP address)")
		}
		if err := e.st.setState(r, stateRunning); err != nil {
			return err
		}
		// The first machine becomes the default (OrbStack's CLI reference,
		// ../shared/reference/orbctl.md §1.1).
		if rs, err := e.st.records(); err == nil && len(rs) <= 1 {
			return e.st.setDefaultID(r.ID)
		}
		return nil
	})
	if cleanup != nil {
		cleanup()
	}
	if err != nil {
		return e.fail(err)
	}
	if hang {
		// Hang until killed; give up once the state directory is gone, so a
		// test that forgets to kill us does not leave a process behind.
		for {
			time.Sleep(200 * time.Millisecond)
			if _, err := os.Stat(e.st.dir); err != nil {
				return 1
			}
		}
	}
	return 0
}

// makeMachine lays out a new machine directory (under the lock).
func (s *store) makeMachine(r *Record, m meta, userData []byte) error {
	dir := s.machineDir(r.Name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	root := s.rootDir(r.Name)
	home := filepath.Join(root, "home", r.Config.DefaultUsername)
	for _, d := range []string{home, filepath.Join(root, "root"), filepath.Join(root, "tmp"),
		filepath.Join(root, "etc", "fakeorbctl"), filepath.Join(root, "usr", "local", "bin"),
		filepath.Join(root, "usr", "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(root, "root"), 0o700); err != nil {
		return err
	}
	files := map[string]string{
		"etc/hostname":            r.Name + "\n",
		"usr/local/bin/systemctl": systemctlShim,
	}
	if m.CloudInit {
		files["usr/local/bin/cloud-init"] = cloudInitShim
		files["var/lib/cloud/instance/user-data.txt"] = string(userData)
		files["var/lib/cloud/instance/boot-finished"] = ""
	}
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			return err
		}
	}
	if err := s.writeMeta(r.Name, m); err != nil {
		return err
	}
	return s.writeRecord(r)
}

// The shims read the state files that "run" writes from FAKEORBCTL_SYSTEMD
// and FAKEORBCTL_CLOUDINIT, relative to their own location (root/usr/local/bin).
const systemctlShim = `#!/bin/sh
# fakeorbctl shim: systemctl is-system-running [--wait]; everything else succeeds.
state=running
f="$(dirname "$0")/../../../etc/fakeorbctl/systemd"
[ -r "$f" ] && state=$(cat "$f")
for a in "$@"; do
  case "$a" in
  -*) ;;
  is-system-running)
    echo "$state"
    [ "$state" = running ] && exit 0
    exit 1 ;;
  *) exit 0 ;;
  esac
done
exit 0
`

const cloudInitShim = `#!/bin/sh
# fakeorbctl shim: cloud-init status [--wait] [--long]
state=done
f="$(dirname "$0")/../../../etc/fakeorbctl/cloud-init"
[ -r "$f" ] && state=$(cat "$f")
if [ "$1" != status ]; then
  echo "fakeorbctl cloud-init shim: only 'status' is supported" >&2
  exit 1
fi
long=0
for a in "$@"; do [ "$a" = --long ] && long=1; done
echo "status: $state"
if [ $long = 1 ]; then
  echo "extended_status: $state"
  echo "detail:"
  echo "DataSourceNoCloud [seed=/var/lib/cloud/seed/nocloud]"
  if [ "$state" = error ]; then
    echo "errors:"
    echo "	- fakeorbctl: FAKEORBCTL_CLOUDINIT=error"
  else
    echo "errors: []"
  fi
fi
[ "$state" = error ] && exit 1
exit 0
`

func cmdClone(e *env, _ *command, p *parsedFlags) int {
	oldKey, newName := p.args[0], p.args[1]
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	var src, dst *Record
	err := e.st.withLock(func() error {
		var err error
		if src, err = e.st.byKey(oldKey); err != nil {
			return err
		}
		// Container.Clone -> beginCreate: errors are not wrapped in "create '...'".
		if !validName(newName) {
			return rpcErr(fmt.Sprintf("invalid machine name '%s'", newName))
		}
		if _, err := os.Stat(e.st.machineDir(newName)); err == nil {
			return rpcErr(fmt.Sprintf("machine already exists: '%s'", newName))
		}
		seq, err := e.st.nextSeq()
		if err != nil {
			return err
		}
		m := e.st.readMeta(src.Name)
		m.Seq, m.Created = seq, time.Now().UTC()
		dst = &Record{ID: newULID(), Name: newName, Image: src.Image, Config: src.Config, State: stateCreating}
		if err := os.Mkdir(e.st.machineDir(newName), 0o755); err != nil {
			return err
		}
		if err := e.st.writeMeta(newName, m); err != nil {
			return err
		}
		return e.st.writeRecord(dst)
	})
	if err != nil {
		return e.fail(err)
	}

	// Copy outside the global lock; clones of one source serialise on the
	// source's clone lock, as OrbStack pauses the source while cloning.
	copyErr := func() error {
		f, err := os.OpenFile(filepath.Join(e.st.machineDir(src.Name), "clone.lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := flock(f); err != nil {
			return err
		}
		return copyTree(e.st.rootDir(src.Name), e.st.rootDir(newName))
	}()

	var cleanup func()
	err = e.st.withLock(func() error {
		r, err := e.st.readRecord(newName)
		if err != nil || r.ID != dst.ID {
			return rpcErr("machine was deleted while being cloned")
		}
		if copyErr != nil {
			if cleanup, err = e.st.removeMachine(r); err != nil {
				return err
			}
			return rpcErr(fmt.Sprintf("copy rootfs: %v", copyErr))
		}
		root := e.st.rootDir(newName)
		if err := os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte(newName+"\n"), 0o644); err != nil {
			return err
		}
		clearDir(filepath.Join(root, "tmp"))
		r.State = stateStopped
		return e.st.writeRecord(r)
	})
	if cleanup != nil {
		cleanup()
	}
	if err != nil {
		return e.fail(err)
	}
	return 0
}

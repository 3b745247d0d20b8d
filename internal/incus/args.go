package incus

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// Builder builds argv for the incus CLI. Every method is pure: it validates
// its input, returns the arguments after the program path, and runs nothing.
// A user-supplied string never lands where incus could read it as a flag:
// names are validated, values are joined to their flag (--cwd=DIR) and
// positional arguments follow "--".
type Builder struct {
	// Remote, when set, prefixes every instance and image reference
	// ("remote:name") and scopes list and query calls to that remote.
	Remote string
}

// InitOptions are the optional parts of an "incus init".
type InitOptions struct {
	CPUs      int    // limits.cpu; 0 leaves the profile's default
	MemoryMiB int    // limits.memory; 0 leaves the profile's default
	DiskMiB   int    // size of the root disk; 0 leaves the profile's default
	CloudInit []byte // cloud-init.user-data; nil means none
	// Config holds extra instance config keys (user.*), set in key order.
	Config map[string]string
}

// StopOptions are the optional parts of an "incus stop".
type StopOptions struct {
	Force   bool          // kill instead of a clean shutdown
	Timeout time.Duration // clean shutdown bound (whole seconds); 0 means incus's default
}

// ExecOptions are the optional parts of an "incus exec".
type ExecOptions struct {
	UID, GID int      // user and group IDs inside the instance (0 is root)
	Cwd      string   // absolute working directory; empty means incus's default
	Env      []string // KEY=VALUE pairs, in order
	NoStdin  bool     // -n: stdin reads from /dev/null
}

// PushOptions are the optional parts of an "incus file push".
type PushOptions struct {
	UID, GID int // owner of the pushed file; -1 keeps the host file's
	Mode     int // permission bits such as 0o644; -1 keeps the host file's
}

func (b Builder) ref(name string) (string, error) {
	if err := ValidateRemote(b.Remote); err != nil {
		return "", err
	}
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return instanceRef(b.Remote, name), nil
}

// remoteArg is "remote:" for commands that take a remote alone, or nothing.
func (b Builder) remoteArg() ([]string, error) {
	if err := ValidateRemote(b.Remote); err != nil {
		return nil, err
	}
	if b.Remote == "" {
		return nil, nil
	}
	return []string{b.Remote + ":"}, nil
}

// ImageRef is alias on the builder's remote: "remote:alias", or alias on the
// default remote.
func (b Builder) ImageRef(alias string) string { return instanceRef(b.Remote, alias) }

// validateImageRef rejects an image reference that incus could misread.
func validateImageRef(image string) error {
	switch {
	case image == "":
		return fmt.Errorf("incus: empty image reference: %w", backend.ErrInvalid)
	case strings.HasPrefix(image, "-"):
		return fmt.Errorf("incus: image reference %q starts with '-': %w", image, backend.ErrInvalid)
	case strings.ContainsAny(image, " \t\r\n\x00"):
		return fmt.Errorf("incus: image reference %q contains whitespace: %w", image, backend.ErrInvalid)
	}
	return nil
}

// Init builds "init IMAGE NAME [-c key=value]... [-d root,size=NMiB]": create
// (not start) a container from image, an already resolved reference such as
// "debian/bookworm", "remote:debian/bookworm" or "images:debian/bookworm/cloud".
func (b Builder) Init(image, name string, o InitOptions) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	if err := validateImageRef(image); err != nil {
		return nil, err
	}
	if o.CPUs < 0 || o.MemoryMiB < 0 || o.DiskMiB < 0 {
		return nil, fmt.Errorf("incus: negative limit (cpus %d, memory %d MiB, disk %d MiB): %w",
			o.CPUs, o.MemoryMiB, o.DiskMiB, backend.ErrInvalid)
	}
	args := []string{"init", image, ref}
	if o.CPUs > 0 {
		args = append(args, "-c", "limits.cpu="+strconv.Itoa(o.CPUs))
	}
	if o.MemoryMiB > 0 {
		args = append(args, "-c", "limits.memory="+strconv.Itoa(o.MemoryMiB)+"MiB")
	}
	if len(o.CloudInit) > 0 {
		if strings.IndexByte(string(o.CloudInit), 0) >= 0 {
			return nil, fmt.Errorf("incus: cloud-init user data contains NUL: %w", backend.ErrInvalid)
		}
		args = append(args, "-c", "cloud-init.user-data="+string(o.CloudInit))
	}
	for _, k := range slices.Sorted(maps.Keys(o.Config)) {
		if !validConfigKey(k) {
			return nil, fmt.Errorf("incus: config key %q is not a user.* key: %w", k, backend.ErrInvalid)
		}
		if strings.IndexByte(o.Config[k], 0) >= 0 {
			return nil, fmt.Errorf("incus: config value for %q contains NUL: %w", k, backend.ErrInvalid)
		}
		args = append(args, "-c", k+"="+o.Config[k])
	}
	if o.DiskMiB > 0 {
		args = append(args, "-d", "root,size="+strconv.Itoa(o.DiskMiB)+"MiB")
	}
	return args, nil
}

// validConfigKey accepts the user.* keys the driver may set at init.
func validConfigKey(k string) bool {
	rest, ok := strings.CutPrefix(k, "user.")
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !isLetter(c) && !isDigit(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// Start builds "start NAME".
func (b Builder) Start(name string) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	return []string{"start", ref}, nil
}

// UnsetHWAddr builds "config unset NAME volatile.DEVICE.hwaddr": it forgets
// the MAC address Incus picked for the instance's NIC DEVICE, so that the
// next start picks a new one.
func (b Builder) UnsetHWAddr(name, device string) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	if !validDeviceName(device) {
		return nil, fmt.Errorf("incus: bad device name %q: %w", device, backend.ErrInvalid)
	}
	return []string{"config", "unset", ref, "volatile." + device + ".hwaddr"}, nil
}

// validDeviceName accepts the names Incus gives devices ("eth0", "root").
func validDeviceName(s string) bool {
	if s == "" || len(s) > 64 || !isLetter(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// Stop builds "stop NAME [--force] [--timeout=N]".
func (b Builder) Stop(name string, o StopOptions) ([]string, error) {
	return b.stopLike("stop", name, o)
}

// Restart builds "restart NAME [--force] [--timeout=N]": a clean shutdown
// (or a kill, with Force) and a start.
func (b Builder) Restart(name string, o StopOptions) ([]string, error) {
	return b.stopLike("restart", name, o)
}

func (b Builder) stopLike(verb, name string, o StopOptions) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("incus: negative %s timeout %v: %w", verb, o.Timeout, backend.ErrInvalid)
	}
	args := []string{verb, ref}
	if o.Force {
		args = append(args, "--force")
	}
	if o.Timeout > 0 {
		secs := int((o.Timeout + time.Second - 1) / time.Second)
		args = append(args, "--timeout="+strconv.Itoa(secs))
	}
	return args, nil
}

// Delete builds "delete --force NAME": stop if running, then delete.
func (b Builder) Delete(name string) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	return []string{"delete", "--force", ref}, nil
}

// List builds "list [remote:] --format json": every instance of the project,
// with state.
func (b Builder) List() ([]string, error) {
	r, err := b.remoteArg()
	if err != nil {
		return nil, err
	}
	return slices.Concat([]string{"list"}, r, []string{"--format", "json"}), nil
}

// ListOne builds "list [remote:] ^NAME$ --format json": a name filter that
// matches exactly one instance (a bare name would also match every name it
// prefixes).
func (b Builder) ListOne(name string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	r, err := b.remoteArg()
	if err != nil {
		return nil, err
	}
	return slices.Concat([]string{"list"}, r, []string{"^" + name + "$", "--format", "json"}), nil
}

// InstanceQuery builds "query [remote:]/1.0/instances/NAME?project=P&recursion=1":
// one instance with its state, as one element of ListOne's list, without
// the server gathering every instance of the project as `incus list` does.
// `incus query` does not apply the project the client has for the remote,
// so project (CurrentProject's) is given.
func (b Builder) InstanceQuery(name, project string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := ValidateRemote(b.Remote); err != nil {
		return nil, err
	}
	if project == "" {
		return nil, fmt.Errorf("incus: query instance %q: no project: %w", name, backend.ErrInvalid)
	}
	q := url.Values{"project": {project}, "recursion": {"1"}}
	return []string{"query", instanceRef(b.Remote, "/1.0/instances/"+name+"?"+q.Encode())}, nil
}

// Exec builds "exec NAME -T [-n] --user=UID --group=GID [--cwd=DIR]
// [--env=K=V]... -- ARGV...". Everything after "--" reaches the guest
// verbatim.
func (b Builder) Exec(name string, o ExecOptions, argv []string) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("incus: exec in %q: empty argv: %w", name, backend.ErrInvalid)
	}
	for _, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("incus: exec in %q: argument %q contains NUL: %w", name, a, backend.ErrInvalid)
		}
	}
	if o.UID < 0 || o.GID < 0 || int64(o.UID) > math.MaxUint32 || int64(o.GID) > math.MaxUint32 {
		return nil, fmt.Errorf("incus: exec in %q: bad uid/gid %d/%d: %w", name, o.UID, o.GID, backend.ErrInvalid)
	}
	args := []string{"exec", ref, "-T"}
	if o.NoStdin {
		args = append(args, "-n")
	}
	args = append(args, "--user="+strconv.Itoa(o.UID), "--group="+strconv.Itoa(o.GID))
	if o.Cwd != "" {
		if err := validateGuestDir(o.Cwd); err != nil {
			return nil, err
		}
		args = append(args, "--cwd="+o.Cwd)
	}
	for _, kv := range o.Env {
		if err := validateEnv(kv); err != nil {
			return nil, err
		}
		args = append(args, "--env="+kv)
	}
	args = append(args, "--")
	return append(args, argv...), nil
}

func validateGuestDir(dir string) error {
	if err := backend.CheckGuestPath(dir); err != nil {
		return fmt.Errorf("incus: working directory: %w", err)
	}
	return nil
}

func validateEnv(kv string) error {
	k, _, ok := strings.Cut(kv, "=")
	switch {
	case !ok:
		return fmt.Errorf("incus: environment entry %q is not KEY=VALUE: %w", kv, backend.ErrInvalid)
	case k == "":
		return fmt.Errorf("incus: environment entry %q has an empty key: %w", kv, backend.ErrInvalid)
	case strings.IndexByte(kv, 0) >= 0:
		return fmt.Errorf("incus: environment entry %q contains NUL: %w", kv, backend.ErrInvalid)
	}
	return nil
}

// hostArg makes a relative host path start with "./" so that incus never
// reads it as a flag or as "-" (standard input or output).
func hostArg(p string) string {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") {
		return p
	}
	return "./" + p
}

// FilePush builds "file push [--uid=N] [--gid=N] [--mode=0NNN] -- HOST NAME/PATH".
func (b Builder) FilePush(name, hostPath, guestPath string, o PushOptions) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	if err := checkCopy(hostPath, guestPath); err != nil {
		return nil, err
	}
	args := []string{"file", "push"}
	if o.UID >= 0 {
		args = append(args, "--uid="+strconv.Itoa(o.UID))
	}
	if o.GID >= 0 {
		args = append(args, "--gid="+strconv.Itoa(o.GID))
	}
	if o.Mode >= 0 {
		if o.Mode > 0o7777 {
			return nil, fmt.Errorf("incus: file mode %o out of range: %w", o.Mode, backend.ErrInvalid)
		}
		args = append(args, fmt.Sprintf("--mode=%04o", o.Mode))
	}
	return append(args, "--", hostArg(hostPath), ref+guestPath), nil
}

// FilePull builds "file pull -- NAME/PATH HOST".
func (b Builder) FilePull(name, guestPath, hostPath string) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	if err := checkCopy(hostPath, guestPath); err != nil {
		return nil, err
	}
	return []string{"file", "pull", "--", ref + guestPath, hostArg(hostPath)}, nil
}

// SnapshotCreate builds "snapshot create NAME SNAP".
func (b Builder) SnapshotCreate(name, snap string) ([]string, error) {
	return b.snapshot("create", name, snap)
}

// SnapshotRestore builds "snapshot restore NAME SNAP".
func (b Builder) SnapshotRestore(name, snap string) ([]string, error) {
	return b.snapshot("restore", name, snap)
}

// SnapshotDelete builds "snapshot delete NAME SNAP".
func (b Builder) SnapshotDelete(name, snap string) ([]string, error) {
	return b.snapshot("delete", name, snap)
}

func (b Builder) snapshot(verb, name, snap string) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	if err := ValidateSnapshotName(snap); err != nil {
		return nil, err
	}
	return []string{"snapshot", verb, ref, snap}, nil
}

// ConsoleLog builds "console NAME --show-log": what the container's init
// wrote to its console in its last boot, running or stopped.
func (b Builder) ConsoleLog(name string) ([]string, error) {
	ref, err := b.ref(name)
	if err != nil {
		return nil, err
	}
	return []string{"console", ref, "--show-log"}, nil
}

// Copy builds "copy SRC DST --instance-only": a new, stopped instance
// (copy-on-write on btrfs and zfs) without the source's snapshots.
func (b Builder) Copy(src, dst string) ([]string, error) {
	s, err := b.ref(src)
	if err != nil {
		return nil, err
	}
	d, err := b.ref(dst)
	if err != nil {
		return nil, err
	}
	return []string{"copy", s, d, "--instance-only"}, nil
}

package orbtest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// Spec describes a machine: distro and pinned version, architecture,
// default user, cloud-init user data, files to copy in, setup steps and
// resource limits. A Spec is an [Option]: pass it to [NewVM] or [StartVM].
//
// Spec values are immutable: every With method returns a modified copy, so
// a base spec can be shared between tests and goroutines and extended
// without one test seeing another's changes. The zero Spec is invalid; start
// from [Debian], [Ubuntu], [Alpine], [Fedora] or [Distro].
type Spec struct {
	distro, version string
	arch, user      string
	cloudInit       string
	setup           []string
	files           []fileCopy
	cpus            int
	memoryMiB       int
	diskMiB         int
	hostAccess      bool
}

type fileCopy struct {
	host, guest string
}

// Distros lists the distro names a Spec accepts: the distros OrbStack
// offers. Which of them a backend can run depends on its images.
var distros = []string{
	"alma", "alpine", "arch", "centos", "debian", "devuan", "fedora", "gentoo",
	"kali", "nixos", "openeuler", "opensuse", "oracle", "rocky", "ubuntu", "void",
}

// cloudInitDistros have cloud images on OrbStack.
var cloudInitDistros = map[string]bool{
	"alma": true, "alpine": true, "centos": true, "debian": true, "devuan": true,
	"fedora": true, "kali": true, "openeuler": true, "opensuse": true,
	"oracle": true, "rocky": true, "ubuntu": true,
}

var archs = map[string]bool{"amd64": true, "arm64": true, "i386": true}

// Distro returns a Spec for the named distro at a pinned version, such as
// Distro("fedora", "42"). Version is required: a test pinned to "latest"
// changes under its feet when the backend moves on.
func Distro(name, version string) Spec { return Spec{distro: name, version: version} }

// Debian returns a Spec for Debian at version, a codename ("bookworm") or
// number ("12").
func Debian(version string) Spec { return Distro("debian", version) }

// Ubuntu returns a Spec for Ubuntu at version, such as "24.04" or "noble".
func Ubuntu(version string) Spec { return Distro("ubuntu", version) }

// Alpine returns a Spec for Alpine Linux at version, such as "3.20".
func Alpine(version string) Spec { return Distro("alpine", version) }

// Fedora returns a Spec for Fedora at version, such as "42".
func Fedora(version string) Spec { return Distro("fedora", version) }

// WithArch returns a copy of s for architecture arch ("amd64", "arm64" or
// "i386"). The default is the host's native architecture.
func (s Spec) WithArch(arch string) Spec { s.arch = arch; return s }

// WithUser returns a copy of s whose default user, the one commands run as
// unless they say otherwise, is name. The default is the backend's: on
// OrbStack a user named like the macOS user, on Incus root.
func (s Spec) WithUser(name string) Spec { s.user = name; return s }

// WithCloudInit returns a copy of s that passes userData (a #cloud-config
// document or a script) to cloud-init when the machine is created. The
// machine is ready only once cloud-init has finished, and a cloud-init
// failure fails the machine.
func (s Spec) WithCloudInit(userData string) Spec { s.cloudInit = userData; return s }

// WithSetup returns a copy of s with setup steps appended. Each step is a
// shell script run once, as root, through sh -c, after the machine boots
// and after its files are copied in, in order; a step that exits non-zero
// fails the machine. Steps are part of the fingerprint: machines are shared
// only between tests whose setup is the same.
func (s Spec) WithSetup(scripts ...string) Spec {
	s.setup = append(append([]string(nil), s.setup...), scripts...)
	return s
}

// WithFile returns a copy of s that copies the host file hostPath to the
// absolute guestPath after boot, before the setup steps run. The file is
// read when the machine is created.
func (s Spec) WithFile(hostPath, guestPath string) Spec {
	s.files = append(append([]fileCopy(nil), s.files...), fileCopy{hostPath, guestPath})
	return s
}

// WithCPUs returns a copy of s limited to n CPUs. The default is the
// backend's (no limit on OrbStack). OrbStack needs 2.2 or later.
func (s Spec) WithCPUs(n int) Spec { s.cpus = n; return s }

// WithMemory returns a copy of s limited to mib MiB of memory. The default
// is the backend's. OrbStack needs 2.2 or later.
func (s Spec) WithMemory(mib int) Spec { s.memoryMiB = mib; return s }

// WithDisk returns a copy of s with a root disk of mib MiB. The default is
// the backend's. OrbStack needs 2.2 or later.
func (s Spec) WithDisk(mib int) Spec { s.diskMiB = mib; return s }

// WithHostAccess returns a copy of s that may see the host: on OrbStack a
// non-isolated machine, which mounts the Mac's home directory and links its
// SSH keys. By default machines are isolated where the backend can do it
// (OrbStack 2.1 and later; Incus containers always are).
func (s Spec) WithHostAccess() Spec { s.hostAccess = true; return s }

// String returns a short description such as
// "debian:bookworm/arm64 user=ci setup=2 files=1".
func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.distro + ":" + s.version)
	if s.arch != "" {
		b.WriteString("/" + s.arch)
	}
	if s.user != "" {
		b.WriteString(" user=" + s.user)
	}
	if s.cloudInit != "" {
		b.WriteString(" cloud-init")
	}
	if len(s.files) > 0 {
		fmt.Fprintf(&b, " files=%d", len(s.files))
	}
	if len(s.setup) > 0 {
		fmt.Fprintf(&b, " setup=%d", len(s.setup))
	}
	if s.cpus > 0 {
		fmt.Fprintf(&b, " cpus=%d", s.cpus)
	}
	if s.memoryMiB > 0 {
		fmt.Fprintf(&b, " memory=%dMiB", s.memoryMiB)
	}
	if s.diskMiB > 0 {
		fmt.Fprintf(&b, " disk=%dMiB", s.diskMiB)
	}
	if s.hostAccess {
		b.WriteString(" host-access")
	}
	return b.String()
}

// Fingerprint returns a stable hash of everything that makes two machines
// interchangeable: two specs with the same fingerprint describe the same
// machine. It covers the paths of files to copy, not their contents.
func (s Spec) Fingerprint() string {
	h := sha256.New()
	field := func(k, v string) { fmt.Fprintf(h, "%s=%s\x00", k, strconv.Quote(v)) }
	field("distro", s.distro)
	field("version", s.version)
	field("arch", s.arch)
	field("user", s.user)
	field("cloud-init", s.cloudInit)
	for _, st := range s.setup {
		field("setup", st)
	}
	for _, f := range s.files {
		field("file", f.host+"\x00"+f.guest)
	}
	field("cpus", strconv.Itoa(s.cpus))
	field("memory", strconv.Itoa(s.memoryMiB))
	field("disk", strconv.Itoa(s.diskMiB))
	field("host-access", strconv.FormatBool(s.hostAccess))
	return hex.EncodeToString(h.Sum(nil))
}

// Validate reports every problem with s at once, each with what to do about
// it. [StartVM] calls it before touching any backend.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case s.distro == "":
		bad("no distro: start from a constructor such as orbtest.Debian(%q)", "bookworm")
	case !isDistro(s.distro):
		bad("unknown distro %q: use one of %s", s.distro, strings.Join(distros, ", "))
	}
	if s.distro != "" && s.version == "" {
		bad("distro %q has no version: pin one, such as orbtest.Distro(%q, %q)", s.distro, s.distro, exampleVersion(s.distro))
	} else if strings.EqualFold(s.version, "latest") {
		bad("distro %q: version %q is not pinned: a test pinned to latest changes under its feet; pin one, such as orbtest.Distro(%q, %q)", s.distro, s.version, s.distro, exampleVersion(s.distro))
	} else if s.version != "" && !versionRE.MatchString(s.version) {
		bad("bad version %q: use a release number or codename such as %q", s.version, exampleVersion(s.distro))
	}
	if s.arch != "" && !archs[s.arch] {
		bad("unknown arch %q: use amd64, arm64 or i386", s.arch)
	}
	if s.user != "" {
		if err := backend.CheckUser(s.user); err != nil {
			bad("%w", err)
		}
	}
	if s.cloudInit != "" && s.distro != "" && isDistro(s.distro) && !cloudInitDistros[s.distro] {
		bad("distro %q has no cloud-init image: drop WithCloudInit or use WithSetup", s.distro)
	}
	for i, st := range s.setup {
		if strings.TrimSpace(st) == "" {
			bad("setup step %d is empty", i+1)
		}
	}
	for _, f := range s.files {
		if err := backend.CheckGuestFile(f.guest); err != nil {
			bad("file %q: %w", f.host, err)
		}
		if fi, err := os.Stat(f.host); err != nil {
			bad("file %q: %v", f.host, errors.Unwrap(err))
		} else if !fi.Mode().IsRegular() {
			bad("file %q: not a regular file", f.host)
		}
	}
	if s.cpus < 0 || s.memoryMiB < 0 || s.diskMiB < 0 {
		bad("negative resource limit (cpus=%d memory=%d disk=%d): use 0 for the backend's default", s.cpus, s.memoryMiB, s.diskMiB)
	}
	if s.memoryMiB > 0 && s.memoryMiB < 64 {
		bad("memory %d MiB is too small: use at least 64", s.memoryMiB)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid spec %s: %w", s, errors.Join(errs...))
}

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

func isDistro(d string) bool {
	i := sort.SearchStrings(distros, d)
	return i < len(distros) && distros[i] == d
}

func exampleVersion(distro string) string {
	switch distro {
	case "debian":
		return "bookworm"
	case "ubuntu":
		return "24.04"
	case "alpine":
		return "3.20"
	case "fedora":
		return "42"
	default:
		return "VERSION"
	}
}

// backendSpec is the neutral form a driver receives.
func (s Spec) backendSpec() backend.Spec {
	bs := backend.Spec{
		Distro: s.distro, Version: s.version, Arch: s.arch, User: s.user,
		CPUs: s.cpus, MemoryMiB: s.memoryMiB, DiskMiB: s.diskMiB, HostAccess: s.hostAccess,
	}
	if s.cloudInit != "" {
		bs.CloudInit = []byte(s.cloudInit)
	}
	return bs
}

package orbctl

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// The argv builders below return orbctl's arguments without the program
// path; the driver prepends it. Each validates its input and returns an
// error wrapping [backend.ErrInvalid] (or [backend.ErrUnsupported] for a
// feature the installed version lacks) instead of producing an argv in
// which a caller's string could become an extra argument or a flag.

// Distros is orbctl's list of CLI distro names (OrbStack's CLI reference,
// ../shared/reference/orbctl.md §3.1).
var Distros = []string{
	"alma", "alpine", "arch", "centos", "debian", "devuan", "fedora", "gentoo",
	"kali", "nixos", "openeuler", "opensuse", "oracle", "rocky", "ubuntu", "void",
}

// Archs lists the architectures create accepts; which ones work depends on
// the host (arm64 and amd64 on Apple silicon, amd64 and i386 on Intel), and
// orbctl reports the rest as "invalid architecture".
var Archs = []string{"amd64", "arm64", "i386"}

// versionPattern accepts image versions and codenames: "bookworm", "24.04",
// "9-Stream", "edge", "3.22".
var versionPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)

// maxVersionLen bounds an image version string.
const maxVersionLen = 64

// CreateArgs builds
//
//	create [-a ARCH] [-u USER] [-c USER_DATA_FILE] [--isolated] [--cpus N] [--memory NM] [--disk NM] DISTRO[:VERSION] NAME
//
// Flags come before the positionals. userDataFile is the path of a file
// holding spec.CloudInit (the builder never reads spec.CloudInit's bytes; it
// refuses cloud-init data without a file). --isolated is added when the
// installed version has isolated machines and spec.HostAccess is false;
// older versions create a normal machine. Limits need OrbStack 2.2 and
// cloud-init 1.3: asking for them on an older version is an error wrapping
// [backend.ErrUnsupported]. Memory and disk are passed in MiB ("2048M").
func CreateArgs(name string, spec backend.Spec, userDataFile string, f Features) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	image, err := imageArg(spec.Distro, spec.Version)
	if err != nil {
		return nil, err
	}
	args := []string{"create"}
	if spec.Arch != "" {
		if !slices.Contains(Archs, spec.Arch) {
			return nil, fmt.Errorf("architecture %q is not one of %s: %w", spec.Arch, strings.Join(Archs, ", "), backend.ErrInvalid)
		}
		args = append(args, "-a", spec.Arch)
	}
	if spec.User != "" {
		if err := backend.CheckUser(spec.User); err != nil {
			return nil, err
		}
		args = append(args, "-u", spec.User)
	}
	switch {
	case userDataFile != "":
		if err := validateHostPath(userDataFile); err != nil {
			return nil, fmt.Errorf("cloud-init user data file: %w", err)
		}
		if !f.CloudInit {
			return nil, f.unsupported("cloud-init user data needs", minCloudInit)
		}
		args = append(args, "-c", userDataFile)
	case len(spec.CloudInit) > 0:
		return nil, fmt.Errorf("spec has cloud-init user data but no user data file was given: %w", backend.ErrInvalid)
	}
	if f.Isolated && !spec.HostAccess {
		args = append(args, "--isolated")
	}
	limits := []struct {
		flag, what, unit string
		n                int
	}{
		{"--cpus", "cpu count", "", spec.CPUs},
		{"--memory", "memory MiB", "M", spec.MemoryMiB},
		{"--disk", "disk MiB", "M", spec.DiskMiB},
	}
	for _, l := range limits {
		if l.n < 0 {
			return nil, fmt.Errorf("%s %d is negative; use 0 for the default: %w", l.what, l.n, backend.ErrInvalid)
		}
		if l.n == 0 {
			continue
		}
		if !f.Limits {
			return nil, f.unsupported("cpu/memory/disk limits need", minLimits)
		}
		args = append(args, l.flag, strconv.Itoa(l.n)+l.unit)
	}
	return append(args, image, name), nil
}

// imageArg builds DISTRO[:VERSION].
func imageArg(distro, version string) (string, error) {
	if !slices.Contains(Distros, distro) {
		return "", fmt.Errorf("distro %q is not one of orbctl's distros (%s): %w", distro, strings.Join(Distros, " "), backend.ErrInvalid)
	}
	if version == "" {
		return distro, nil
	}
	if len(version) > maxVersionLen || !versionPattern.MatchString(version) {
		return "", fmt.Errorf("distro version %q must start with a letter or digit and contain only letters, digits, '.', '_' and '-': %w", version, backend.ErrInvalid)
	}
	return distro + ":" + version, nil
}

// CloneArgs builds `clone SRC DST`. Clone needs OrbStack 2.0; on older
// versions the error wraps [backend.ErrUnsupported].
func CloneArgs(src, dst string, f Features) ([]string, error) {
	if err := ValidateName(src); err != nil {
		return nil, fmt.Errorf("clone source: %w", err)
	}
	if err := ValidateName(dst); err != nil {
		return nil, fmt.Errorf("clone destination: %w", err)
	}
	if !f.Clone {
		return nil, f.unsupported("machine clones need", minClone)
	}
	return []string{"clone", src, dst}, nil
}

// StartArgs builds `start NAME`. A bare `start` would start OrbStack itself,
// so the name is required.
func StartArgs(name string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	return []string{"start", name}, nil
}

// StopArgs builds `stop NAME`. A bare `stop` stops all of OrbStack, so the
// name is required.
func StopArgs(name string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	return []string{"stop", name}, nil
}

// RestartArgs builds `restart NAME`. A bare `restart` is a usage error
// (OrbStack's CLI reference, §1.5), so the name is required.
func RestartArgs(name string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	return []string{"restart", name}, nil
}

// DeleteArgs builds `delete -f NAME`. Delete is by name only: orbctl 2.2.3
// crashes when deleting by ID.
func DeleteArgs(name string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	return []string{"delete", "-f", name}, nil
}

// ListArgs builds `list -f json`.
func ListArgs() []string { return []string{"list", "-f", "json"} }

// InfoArgs builds `info NAME -f json`.
func InfoArgs(name string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	return []string{"info", name, "-f", "json"}, nil
}

// StatusArgs builds `status`, which reports whether OrbStack runs without
// starting it.
func StatusArgs() []string { return []string{"status"} }

// VersionArgs builds `version`.
func VersionArgs() []string { return []string{"version"} }

// RunArgs builds
//
//	run -m NAME [-u USER] [-w DIR] ARGV...
//
// orbctl ends flag parsing at the first non-flag token and passes the rest
// verbatim; it rejects "--", so none is added, and a command (argv[0]) that
// is empty or starts with '-' is an error. DIR must be an absolute guest
// path. Arguments after the command are passed unchanged.
func RunArgs(name, user, dir string, argv []string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("command is empty: %w", backend.ErrInvalid)
	}
	if strings.HasPrefix(argv[0], "-") {
		return nil, fmt.Errorf("command %q starts with '-', which orbctl run would read as its own flag: %w", argv[0], backend.ErrInvalid)
	}
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("command argument %d %q contains a NUL byte: %w", i, a, backend.ErrInvalid)
		}
	}
	args := []string{"run", "-m", name}
	if user != "" {
		if err := backend.CheckUser(user); err != nil {
			return nil, err
		}
		args = append(args, "-u", user)
	}
	if dir != "" {
		if err := backend.CheckGuestPath(dir); err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		}
		args = append(args, "-w", dir)
	}
	return append(args, argv...), nil
}

// PushArgs builds `push -m NAME HOST_PATH GUEST_PATH`: copy a host file into
// the machine at an absolute guest path.
func PushArgs(name, hostPath, guestPath string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := validateHostPath(hostPath); err != nil {
		return nil, err
	}
	if err := backend.CheckGuestFile(guestPath); err != nil {
		return nil, err
	}
	return []string{"push", "-m", name, hostPath, guestPath}, nil
}

// PullArgs builds `pull -m NAME GUEST_PATH HOST_PATH`: copy a file at an
// absolute guest path to the host.
func PullArgs(name, guestPath, hostPath string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := backend.CheckGuestFile(guestPath); err != nil {
		return nil, err
	}
	if err := validateHostPath(hostPath); err != nil {
		return nil, err
	}
	return []string{"pull", "-m", name, guestPath, hostPath}, nil
}

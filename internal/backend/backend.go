// Package backend defines the Driver interface through which orbtest drives
// a machine manager (OrbStack's orbctl, Incus's incus), the neutral values
// that cross it, and the error classes every driver maps its failures to.
//
// A driver builds each command with a pure function, runs it through
// internal/cmdrun and parses the output; it never retries. Retrying by error
// class is the caller's job (see [Retryable]).
package backend

import (
	"context"
	"errors"
	"io"
	"time"
)

// Error classes. A driver wraps every failure it can classify with one of
// these, so callers branch with errors.Is and never match message text.
var (
	// ErrNotFound: the named machine (or snapshot) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a machine with that name already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid: the backend rejected the input (bad name, distro, arch,
	// flag); retrying cannot help.
	ErrInvalid = errors.New("invalid input")
	// ErrUnavailable: the backend is not installed, not running, or cannot
	// be reached.
	ErrUnavailable = errors.New("backend unavailable")
	// ErrTransient: a failure that may pass on retry (network, timeouts
	// inside the backend, a state transition in progress).
	ErrTransient = errors.New("transient failure")
	// ErrUnsupported: the installed backend version lacks a feature.
	ErrUnsupported = errors.New("unsupported by this backend")
)

// Retryable reports whether a failed lifecycle call (never a user command)
// may be retried: transient failures and per-call timeouts.
func Retryable(err error) bool {
	return errors.Is(err, ErrTransient) || errors.Is(err, context.DeadlineExceeded)
}

// State is a machine's lifecycle state, spelled as OrbStack spells it.
type State string

// The states a machine can be in. Drivers map their backend's states onto
// these; anything else becomes StateUnknown.
const (
	StateCreating     State = "creating"
	StateProvisioning State = "provisioning"
	StateStarting     State = "starting"
	StateRunning      State = "running"
	StateStopping     State = "stopping"
	StateStopped      State = "stopped"
	StateDeleting     State = "deleting"
	StateUnknown      State = "unknown"
)

// Machine is what a driver reports about one machine.
type Machine struct {
	Name    string
	ID      string
	State   State
	Distro  string
	Version string
	Arch    string
	User    string // default user; empty when the backend has none
	IP4     string // empty when not running or unknown
	IP6     string
	// Address is where the host reaches the machine: IP4, or a name the
	// host resolves to it where the backend has one (OrbStack's
	// NAME.orb.local); empty when it has neither yet.
	Address string
	Created time.Time // zero when the backend does not report it
	// DiskBytes is the disk the machine uses, where the backend reports
	// it (OrbStack's info, Incus's root disk usage); 0 when unknown.
	DiskBytes int64
}

// Spec is the backend-neutral description of a machine to create.
type Spec struct {
	Distro    string // CLI distro name: "debian", "ubuntu", "alpine", ...
	Version   string // pinned version or codename; empty means the backend's default
	Arch      string // "amd64", "arm64", ...; empty means native
	User      string // default user to create; empty means the backend's default
	CloudInit []byte // cloud-init user data; nil means none
	CPUs      int    // 0 means the backend's default
	MemoryMiB int    // 0 means the backend's default
	DiskMiB   int    // 0 means the backend's default
	// HostAccess shares the host's files, SSH keys and agent with the
	// machine. By default machines are isolated where the backend can do it.
	HostAccess bool
}

// ExecRequest is one command to run inside a machine.
type ExecRequest struct {
	Argv   []string  // program and arguments; never a shell string
	User   string    // empty means the machine's default user
	Dir    string    // working directory inside the machine; empty means the user's home
	Env    []string  // extra KEY=VALUE pairs
	Stdin  io.Reader // nil means no input
	Stdout io.Writer // receives the command's standard output
	Stderr io.Writer // receives the command's standard error
	// Tails, when set, lets Exec return as soon as the command's exit
	// status and the whole of both streams are in: what is left, letting
	// the guard in the machine go and reaping the backend's client (a few
	// milliseconds), goes on in the background, counted in Tails. Unset,
	// Exec returns after it.
	Tails Tails
}

// Tails counts work an Exec left running in the background: Add(1) when
// it starts, Done when it ends. A *sync.WaitGroup is one.
type Tails interface {
	Add(delta int)
	Done()
}

// Info describes an installed backend, for people (orbtest doctor).
type Info struct {
	Backend string // "orbstack" or "incus"
	Version string
	// Features names what the installed version can do beyond the Driver
	// contract ("isolated", "limits", "cloud-init"). It is for display:
	// what the core uses is told by the optional interfaces (Cloner,
	// Snapshotter, ConsoleLogger).
	Features []string
}

// Driver drives one machine manager. Implementations are safe for concurrent
// use. Every method but Exec applies its own per-operation timeout (see
// [Timeout]) within ctx; Exec has none, since only the caller knows how
// long a command may take. Failures wrap one of the error classes above.
// What only some backends (or versions) can do is an optional interface a
// driver implements or not: [Cloner], [Snapshotter], [ConsoleLogger].
type Driver interface {
	// Name is the backend's name: "orbstack" or "incus".
	Name() string
	// Location says where the driver's machines live: "" for the local
	// backend, else the remote it addresses. Runs record it, so that a
	// reaper or sweep acts where the run's machines are.
	Location() string
	// Probe checks that the backend is installed and running and reports
	// its version. It starts nothing.
	Probe(ctx context.Context) (Info, error)
	// Create creates and boots a machine; it returns once the backend
	// reports it running.
	Create(ctx context.Context, name string, spec Spec) error
	// Start boots a stopped machine; it returns once the backend reports
	// it running. Starting a running machine is not an error.
	Start(ctx context.Context, name string) error
	// Stop shuts a machine down cleanly (forcing it after a grace period
	// where the backend can). Stopping a stopped machine is not an error.
	Stop(ctx context.Context, name string) error
	// Restart reboots a running machine cleanly; it returns once the
	// backend reports it running again, which may be before its services
	// (or its boot id) have changed: callers wait for the new boot.
	Restart(ctx context.Context, name string) error
	// Delete deletes a machine by name, stopping it first. Deleting a
	// machine that does not exist returns an error wrapping ErrNotFound.
	Delete(ctx context.Context, name string) error
	Inspect(ctx context.Context, name string) (Machine, error)
	List(ctx context.Context) ([]Machine, error)
	// Exec runs a command in a machine and returns its exit code. The error
	// is non-nil only when the command could not be run at all.
	Exec(ctx context.Context, name string, req ExecRequest) (exitCode int, err error)
	// Push copies a host file into the machine at an absolute guest path.
	Push(ctx context.Context, name, hostPath, guestPath string) error
	// Pull copies a guest file at an absolute path to the host.
	Pull(ctx context.Context, name, guestPath, hostPath string) error
	// Hostname is the name other machines of the backend resolve to
	// machine name's address: NAME.orb.local on OrbStack, NAME.incus (the
	// bridge's DNS domain) on Incus. It is pure: it runs nothing.
	Hostname(name string) string
	// ShellCommand is the command line a person runs to get a shell in the
	// machine; DeleteCommand the one that deletes it. Both are for logs.
	ShellCommand(name string) string
	DeleteCommand(name string) string
}

// Cloner is implemented by drivers that copy a machine, copy-on-write
// where the storage can, to a new, stopped machine dst.
type Cloner interface {
	Clone(ctx context.Context, src, dst string) error
}

// Snapshotter is implemented by drivers that snapshot a machine and
// restore it to a snapshot.
type Snapshotter interface {
	Snapshot(ctx context.Context, name, snapshot string) error
	Restore(ctx context.Context, name, snapshot string) error
}

// ConsoleLogger is implemented by drivers that keep what a machine's init
// wrote to its console, which tells why a machine stopped while booting.
type ConsoleLogger interface {
	ConsoleLog(ctx context.Context, name string) (string, error)
}

// Op is a kind of backend operation. Timeouts are chosen by Op, never by
// reading a command line.
type Op int

// Operation kinds.
const (
	OpQuery  Op = iota // list, info, status, version
	OpCreate           // create (downloads an image on OrbStack)
	OpClone
	OpStart
	OpStop
	OpDelete
	OpCopy // push, pull
	OpSnapshot
	OpRestart // a stop and a start
)

// Timeout is the default bound of one call of kind op.
func Timeout(op Op) time.Duration {
	switch op {
	case OpCreate:
		return 5 * time.Minute
	case OpClone, OpCopy, OpRestart:
		return 2 * time.Minute
	case OpStart, OpStop, OpDelete, OpSnapshot:
		return time.Minute
	default:
		return 30 * time.Second
	}
}

func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpClone:
		return "clone"
	case OpStart:
		return "start"
	case OpStop:
		return "stop"
	case OpDelete:
		return "delete"
	case OpCopy:
		return "copy"
	case OpSnapshot:
		return "snapshot"
	case OpRestart:
		return "restart"
	default:
		return "query"
	}
}

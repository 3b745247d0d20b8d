package fakeorbctl

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Environment variables that configure the fake (see the package doc).
const (
	EnvState      = "FAKEORBCTL_STATE"
	EnvVersion    = "FAKEORBCTL_VERSION"
	EnvNativeArch = "FAKEORBCTL_NATIVE_ARCH"
	EnvUser       = "FAKEORBCTL_USER"
	EnvStatus     = "FAKEORBCTL_STATUS"
	EnvInfoShape  = "FAKEORBCTL_INFO_SHAPE"
	EnvSystemd    = "FAKEORBCTL_SYSTEMD"
	EnvCloudInit  = "FAKEORBCTL_CLOUDINIT"

	EnvCreateDelay = "FAKEORBCTL_CREATE_DELAY"
	EnvCreateFail  = "FAKEORBCTL_CREATE_FAIL"
	EnvCreateHang  = "FAKEORBCTL_CREATE_HANG"
	EnvRunFail     = "FAKEORBCTL_RUN_FAIL"
	EnvDeleteFail  = "FAKEORBCTL_DELETE_FAIL"
	EnvStartDelay  = "FAKEORBCTL_START_DELAY"
)

// DefaultVersion is the OrbStack version the fake impersonates unless
// FAKEORBCTL_VERSION says otherwise.
const DefaultVersion = "2.2.3"

// version is an OrbStack version, major.minor.patch.
type version [3]int

func parseVersion(s string) (version, error) {
	var v version
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return v, fmt.Errorf("invalid version %q (want X.Y.Z)", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 99 {
			return v, fmt.Errorf("invalid version %q (want X.Y.Z)", s)
		}
		v[i] = n
	}
	return v, nil
}

func (v version) atLeast(major, minor, patch int) bool {
	w := version{major, minor, patch}
	for i := range v {
		if v[i] != w[i] {
			return v[i] > w[i]
		}
	}
	return true
}

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// code is appver's numeric version: 2.2.3 -> 2020300.
func (v version) code() int { return v[0]*1000000 + v[1]*10000 + v[2]*100 }

// env is one invocation of the fake.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	st             *store
	ver            version
	native         string
}

// Main runs the fake orbctl with args (without the program name) and returns
// the exit code. Configuration comes from the process environment.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "fakeorbctl: internal error: %v\n%s", r, debug.Stack())
			code = 70
		}
	}()
	dir := os.Getenv(EnvState)
	if dir == "" {
		fmt.Fprintln(stderr, "fakeorbctl: "+EnvState+" is not set; the fake orbctl needs a state directory")
		return 1
	}
	st := &store{dir: dir}
	if err := st.init(); err != nil {
		fmt.Fprintln(stderr, "fakeorbctl:", err)
		return 1
	}
	if err := st.withLock(func() error { return st.logCall(args) }); err != nil {
		fmt.Fprintln(stderr, "fakeorbctl: log call:", err)
		return 1
	}
	vs := os.Getenv(EnvVersion)
	if vs == "" {
		vs = DefaultVersion
	}
	ver, err := parseVersion(vs)
	if err != nil {
		fmt.Fprintln(stderr, "fakeorbctl: "+EnvVersion+":", err)
		return 1
	}
	native := os.Getenv(EnvNativeArch)
	switch native {
	case "":
		native = "arm64"
	case "arm64", "amd64":
	default:
		fmt.Fprintf(stderr, "fakeorbctl: %s=%q: want arm64 or amd64\n", EnvNativeArch, native)
		return 1
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, st: st, ver: ver, native: native}
	return e.dispatch(args)
}

// command is one cobra command of orbctl.
type command struct {
	name    string
	aliases []string
	use     string // after "orbctl "
	short   string
	long    string
	example string
	flags   func(v version) []flagSpec
	since   version
	args    func(args []string) error
	raw     bool // DisableFlagParsing: run gets the raw arguments
	run     func(e *env, c *command, p *parsedFlags) int
}

func rangeArgs(lo, hi int) func([]string) error {
	return func(args []string) error {
		if n := len(args); n < lo || n > hi {
			return fmt.Errorf("accepts between %d and %d arg(s), received %d", lo, hi, n)
		}
		return nil
	}
}

func exactArgs(k int) func([]string) error {
	return func(args []string) error {
		if n := len(args); n != k {
			return fmt.Errorf("accepts %d arg(s), received %d", k, n)
		}
		return nil
	}
}

func minArgs(k int) func([]string) error {
	return func(args []string) error {
		if n := len(args); n < k {
			return fmt.Errorf("requires at least %d arg(s), only received %d", k, n)
		}
		return nil
	}
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q for \"orbctl list\"", args[0])
	}
	return nil
}

var commands []*command

// notImplemented are real orbctl commands the fake does not model.
var notImplemented = []string{"config", "logs", "log", "console", "export", "import", "ssh",
	"doctor", "update", "login", "logout", "reset", "report", "debug", "docker", "k8s", "completion", "migrate"}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
		for _, a := range c.aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

func (e *env) dispatch(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stdout, rootHelp(e.ver))
		return 0
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if name == "help" && len(args) > 1 {
			if c := findCommand(args[1]); c != nil && e.ver.atLeast(c.since[0], c.since[1], c.since[2]) {
				fmt.Fprint(e.stdout, c.help(e.ver))
				return 0
			}
		}
		fmt.Fprint(e.stdout, rootHelp(e.ver))
		return 0
	case "-V", "--version":
		return cmdVersion(e, nil, nil)
	}
	if strings.HasPrefix(name, "-") {
		fmt.Fprintf(e.stderr, "Error: unknown flag: %s\nRun 'orbctl --help' for usage.\n", name)
		return 1
	}
	c := findCommand(name)
	if c == nil || !e.ver.atLeast(c.since[0], c.since[1], c.since[2]) {
		for _, n := range notImplemented {
			if n == name {
				fmt.Fprintf(e.stderr, "fakeorbctl: \"orbctl %s\" is not implemented by the fake\n", name)
				return 1
			}
		}
		fmt.Fprintf(e.stderr, "Error: unknown command %q for \"orbctl\"\nRun 'orbctl --help' for usage.\n", name)
		return 1
	}
	if c.raw {
		return c.run(e, c, &parsedFlags{args: args[1:], values: map[string]string{}})
	}
	var specs []flagSpec
	if c.flags != nil {
		specs = c.flags(e.ver)
	}
	p, err := parseFlags(specs, args[1:])
	if errors.Is(err, errHelp) {
		fmt.Fprint(e.stdout, c.help(e.ver))
		return 0
	}
	if err != nil {
		return e.usageErr(c, err.Error())
	}
	if c.args != nil {
		if err := c.args(p.args); err != nil {
			return e.usageErr(c, err.Error())
		}
	}
	return c.run(e, c, p)
}

// usageErr is how cobra reports a flag/argument error or an error returned
// from RunE: "Error: ..." and the usage on stderr, exit 1.
func (e *env) usageErr(c *command, msg string) int {
	fmt.Fprintf(e.stderr, "Error: %s\n%s\n", msg, c.usage(e.ver))
	return 1
}

// fail reports a runtime error as checkCLI does: the message on stderr, exit 1.
func (e *env) fail(err error) int {
	fmt.Fprintln(e.stderr, err)
	return 1
}

func (c *command) usage(v version) string {
	var b strings.Builder
	var specs []flagSpec
	if c.flags != nil {
		specs = c.flags(v)
	}
	useLine := "orbctl " + c.use
	if !strings.Contains(useLine, "[flags]") {
		useLine += " [flags]"
	}
	fmt.Fprintf(&b, "Usage:\n  %s\n", useLine)
	if len(c.aliases) > 0 {
		fmt.Fprintf(&b, "\nAliases:\n  %s\n", strings.Join(append([]string{c.name}, c.aliases...), ", "))
	}
	if c.example != "" {
		fmt.Fprintf(&b, "\nExamples:\n%s\n", c.example)
	}
	fmt.Fprintf(&b, "\nFlags:\n%s", flagUsages(c.name, specs))
	return b.String()
}

func (c *command) help(v version) string {
	long := c.long
	if long == "" {
		long = c.short
	}
	return strings.TrimRight(long, " \n") + "\n\n" + c.usage(v)
}

func rootHelp(v version) string {
	var b strings.Builder
	b.WriteString("Control and interact with OrbStack Linux machines. (fakeorbctl " + v.String() + ")\n\nUsage:\n  orbctl [command]\n\nAvailable Commands:\n")
	for _, c := range commands {
		if v.atLeast(c.since[0], c.since[1], c.since[2]) {
			fmt.Fprintf(&b, "  %-12s %s\n", c.name, c.short)
		}
	}
	b.WriteString("\nUse \"orbctl [command] --help\" for more information about a command.\n")
	return b.String()
}

// ensureVM starts OrbStack if it is down, as every orbctl command that
// auto-starts it does (OrbStack's CLI reference,
// ../shared/reference/orbctl.md §1.15).
func (e *env) ensureVM() error {
	return e.st.withLock(func() error {
		if e.st.vmStatus() != "running" {
			return e.st.setVMStatus("running")
		}
		return nil
	})
}

// envInt reads a non-negative integer fault budget.
func envInt(name string) (int, error) {
	s := os.Getenv(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("fakeorbctl: %s=%q: want a non-negative integer", name, s)
	}
	return n, nil
}

// envDuration reads a duration.
func envDuration(name string) (time.Duration, error) {
	s := os.Getenv(name)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("fakeorbctl: %s=%q: want a duration such as 500ms", name, s)
	}
	return d, nil
}

func cmdVersion(e *env, _ *command, _ *parsedFlags) int {
	sum := sha1.Sum([]byte("fakeorbctl " + e.ver.String()))
	fmt.Fprintf(e.stdout, "Version: %s (%d)\n", e.ver, e.ver.code())
	fmt.Fprintf(e.stdout, "Commit: %s (v%s)\n", hex.EncodeToString(sum[:]), e.ver)
	return 0
}

func cmdStatus(e *env, _ *command, _ *parsedFlags) int {
	switch e.st.vmStatus() {
	case "stopped":
		fmt.Fprintln(e.stdout, "Stopped")
		return 1
	case "starting":
		fmt.Fprintln(e.stdout, "Starting")
		return 2
	}
	fmt.Fprintln(e.stdout, "Running")
	return 0
}

func init() {
	arbitrary := func([]string) error { return nil }
	commands = []*command{
		{name: "clone", use: "clone [OLD_NAME] [NEW_NAME]", short: "Clone a machine", since: version{2, 0, 0},
			long:    "Make a copy of an existing machine.\n\nThe new machine will be in a stopped state.\n",
			example: "  orb clone ubuntu foo", args: exactArgs(2), run: cmdClone},
		{name: "create", aliases: []string{"add", "new"}, use: "create [flags] DISTRO[:VERSION] [MACHINE_NAME]",
			short: "Create a new machine", long: createLong(),
			example: "  orb create -a arm64 ubuntu:mantic\n  orb create -a amd64 fedora foo",
			flags:   createFlags, args: rangeArgs(1, 2), run: cmdCreate},
		{name: "default", aliases: []string{"set-default", "get-default"}, use: "default [ID/NAME]",
			short: "Get or set the default machine", args: rangeArgs(0, 1), run: cmdDefault},
		{name: "delete", use: "delete [flags] [ID/NAME]...", short: "Delete a machine",
			long:    "Delete the specified machine, by ID or name.\n\nThe machine will be stopped if it is running.\nAll files stored in the machine will be PERMANENTLY LOST without warning!\n",
			example: "  orbctl delete ubuntu", args: arbitrary, run: cmdDelete,
			flags: func(version) []flagSpec {
				return []flagSpec{{"all", "a", boolFlag, "Delete all machines"}, {"force", "f", boolFlag, "Force deletion without confirmation"}}
			}},
		{name: "info", aliases: []string{"i"}, use: "info [ID/NAME]", short: "Get info about a machine",
			long: "Get info about the specified machine, by ID or name.\n", example: "  orbctl list",
			args: exactArgs(1), run: cmdInfo, flags: formatFlag},
		{name: "list", use: "list", short: "List machines", long: "List machines and their respective status.\n",
			example: "  orbctl list", args: noArgs, run: cmdList,
			flags: func(v version) []flagSpec {
				return append([]flagSpec{{"running", "r", boolFlag, "only show running machines"},
					{"quiet", "q", boolFlag, "only show machine names"}}, formatFlag(v)...)
			}},
		{name: "pull", use: "pull [flags] macOS-source... [Linux-dest]", short: "Copy files from Linux",
			long:    "Copy files from Linux to macOS.\n\nSource paths are relative to the Linux user's home directory.\nIf destination is not specified, the current directory is used.\n",
			example: "  orbctl pull code/example.txt .", args: minArgs(1), run: cmdPull, flags: machineFlag},
		{name: "push", use: "push [flags] macOS-source... [Linux-dest]", short: "Copy files to Linux",
			long:    "Copy files from macOS to Linux.\n\nDestination path is relative to the Linux user's home directory.\nIf destination is not specified, the home directory is used.\n",
			example: "  orbctl push example.txt Desktop/", args: minArgs(1), run: cmdPush, flags: machineFlag},
		{name: "rename", use: "rename [OLD_NAME] [NEW_NAME]", short: "Rename a machine",
			args: exactArgs(2), run: cmdRename},
		{name: "restart", use: "restart [flags] [ID/NAME]..", short: "Restart a machine",
			long: "Restart the specified machine(s), by ID or name.\n", example: "  orbctl restart ubuntu",
			args: arbitrary, run: cmdRestart, flags: allFlag("Restart all machines")},
		{name: "run", aliases: []string{"exec", "shell"}, use: "run [flags] -- [COMMAND] [ARGS]...",
			short: "Run command on Linux", long: runLong, example: "  orbctl run ls", raw: true, run: cmdRun,
			flags: func(version) []flagSpec { return runFlags }},
		{name: "start", use: "start [flags] [ID/NAME]...", short: "Start OrbStack or a machine",
			long:    "Start the specified machine(s), by ID or name.\n\nIf no machines are specified, the command will start all machines that were running when it was last stopped.\n",
			example: "  orbctl start ubuntu", args: arbitrary, run: cmdStart, flags: allFlag("Start all machines")},
		{name: "status", use: "status", short: "Check whether OrbStack is running",
			long:    "Check whether OrbStack is running.\n\nReturns one of the following statuses and exit codes:\n  Running: status 0\n  Starting: status 2\n  Stopped: status 1\n",
			example: "  orbctl status", args: arbitrary, run: cmdStatus},
		{name: "stop", aliases: []string{"shutdown"}, use: "stop [flags] [ID/NAME]..", short: "Stop OrbStack or a machine",
			long:    "Stop the specified machines(s), by ID or name.\n\nIf no arguments are provided, this command will stop the entire OrbStack service, including Docker and all machines.\n",
			example: "  orbctl stop ubuntu", args: arbitrary, run: cmdStop,
			flags: func(version) []flagSpec {
				return []flagSpec{{"all", "a", boolFlag, "Stop all machines"},
					{"force", "f", boolFlag, "Force VM to stop immediately (if no arguments). May cause data loss!"}}
			}},
		{name: "version", use: "version", short: "Show OrbStack version", long: "Show OrbStack version information.\n",
			example: "  orbctl version", args: arbitrary, run: cmdVersion},
	}
}

func formatFlag(version) []flagSpec {
	return []flagSpec{{"format", "f", stringFlag, "output format (text, json)"}}
}

func machineFlag(version) []flagSpec {
	return []flagSpec{{"machine", "m", stringFlag, "Copy to a specific machine"}}
}

func allFlag(usage string) func(version) []flagSpec {
	return func(version) []flagSpec { return []flagSpec{{"all", "a", boolFlag, usage}} }
}

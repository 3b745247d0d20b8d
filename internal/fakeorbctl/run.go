package fakeorbctl

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

const runLong = `Run a command on Linux.

If no arguments are provided, an interactive shell is started.
The default machine and/or user are used if not specified.

To pass environment variables, set ORBENV to a colon-separated list of variables:
	ORBENV=EDITOR:VISUAL orb git commit
`

// runFlags are shown in run's help; parseRunFlags does the parsing.
var runFlags = []flagSpec{
	{"machine", "m", stringFlag, "Use a specific machine"},
	{"user", "u", stringFlag, "Run as a specific user"},
	{"workdir", "w", stringFlag, "Set the working directory"},
	{"shell", "s", boolFlag, "Use the login shell instead of running command directly"},
	{"path", "p", boolFlag, "Translate absolute macOS paths to Linux paths"},
}

type runOpts struct {
	machine, user, workdir string
	shell, path, help      bool
}

// parseRunFlags is orbctl's ParseRunFlags: flags only before the command,
// the first non-flag token ends them, "--" is an unknown flag.
func parseRunFlags(args []string) (runOpts, []string, error) {
	var o runOpts
	var pending *string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if pending != nil {
			*pending, pending = a, nil
			continue
		}
		if !strings.HasPrefix(a, "-") {
			break
		}
		switch a {
		case "-s", "--shell", "-shell":
			o.shell = true
			continue
		case "-p", "--path", "-path":
			o.path = true
			continue
		case "-h", "--help", "-help":
			o.help = true
			continue
		}
		key, value, ok := strings.Cut(a, "=")
		if ok {
			switch key {
			case "-m", "--machine", "-machine":
				o.machine = value
			case "-u", "--user", "-user":
				o.user = value
			case "-w", "--workdir", "-workdir":
				o.workdir = value
			case "-s", "--shell", "-shell":
				o.shell = value == "true"
			case "-p", "--path", "-path":
				o.path = value == "true"
			}
			continue
		}
		switch key {
		case "-m", "--machine", "-machine":
			pending = &o.machine
		case "-u", "--user", "-user":
			pending = &o.user
		case "-w", "--workdir", "-workdir":
			pending = &o.workdir
		default:
			return o, nil, errors.New("unknown flag " + a)
		}
	}
	if pending != nil {
		return o, nil, errors.New("missing value for flag " + args[len(args)-1])
	}
	return o, args[i:], nil
}

const noMachinesHelp = `To use Docker:
    docker run ...
See "orb docker" for more info.

To create a Linux machine:
    orb create ubuntu
See "orb create --help" for supported distros and options.
`

// transportErr prints an error the way RunSSH failures are printed.
func (e *env) transportErr(err error) int {
	fmt.Fprintf(e.stderr, "\n%v\n", err)
	return 1
}

// machineFor resolves -m (or the default machine), starting it if stopped
// as OrbStack's SSH server does. It returns false after printing an error.
func (e *env) machineFor(key string) (*Record, error) {
	if key == "" {
		r, err := e.st.defaultMachine()
		if err != nil {
			return nil, err
		}
		key = r.Name
	}
	r, err := e.st.byKey(key)
	if err != nil {
		return nil, err
	}
	if err := e.startMachine(r.Name); err != nil {
		return nil, err
	}
	return e.st.byKey(r.Name)
}

func homeOf(root, user string) string {
	if user == "root" {
		return filepath.Join(root, "root")
	}
	return filepath.Join(root, "home", user)
}

// inRoot maps a Linux path to the host: absolute paths are under root,
// relative ones under base.
func inRoot(root, base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Join(root, filepath.Clean("/"+p))
	}
	return filepath.Join(base, p)
}

func cmdRun(e *env, c *command, p *parsedFlags) int {
	o, argv, err := parseRunFlags(p.args)
	if err != nil {
		return e.usageErr(c, err.Error())
	}
	if o.help {
		fmt.Fprint(e.stdout, c.help(e.ver))
		return 0
	}
	runFail, err := envInt(EnvRunFail)
	if err != nil {
		return e.fail(err)
	}
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	if o.machine == "" {
		if _, err := e.st.defaultMachine(); err != nil {
			if err.Error() == "[-32098] no machines found" {
				fmt.Fprint(e.stderr, noMachinesHelp)
				return 1
			}
			return e.fail(err)
		}
	}
	if o.machine != "" {
		if _, err := e.st.byKey(o.machine); err != nil {
			return e.transportErr(err)
		}
	}
	// The injected transport failure comes before the machine is reached.
	var failNow bool
	err = e.st.withLock(func() error {
		key := o.machine
		if key == "" {
			r, err := e.st.defaultMachine()
			if err != nil {
				return err
			}
			key = r.Name
		}
		r, err := e.st.byKey(key)
		if err != nil {
			return err
		}
		failNow, err = e.st.take("run_fail:"+r.ID, runFail)
		return err
	})
	if err != nil {
		return e.transportErr(err)
	}
	if failNow {
		return e.transportErr(rpcErr("dial: connection refused"))
	}
	r, err := e.machineFor(o.machine)
	if err != nil {
		return e.transportErr(err)
	}
	root := e.st.rootDir(r.Name)
	if err := syncShimState(root); err != nil {
		return e.transportErr(err)
	}

	user := o.user
	if user == "" {
		user = r.Config.DefaultUsername
	}
	home := homeOf(root, user)
	dir := home
	if o.workdir != "" {
		dir = inRoot(root, home, o.workdir)
	}
	for _, d := range []string{home, dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return e.transportErr(err)
		}
	}

	path := filepath.Join(root, "usr", "local", "bin") + string(os.PathListSeparator) +
		filepath.Join(root, "usr", "bin") + string(os.PathListSeparator) + os.Getenv("PATH")
	environ := []string{"PATH=" + path, "HOME=" + home, "USER=" + user, "LOGNAME=" + user, "ORB_MACHINE=" + r.Name}
	for _, name := range strings.Split(os.Getenv("ORBENV"), ":") {
		if v, ok := os.LookupEnv(name); ok && name != "" {
			environ = append(environ, name+"="+v)
		}
	}

	switch {
	case o.shell:
		argv = []string{"/bin/sh", "-c", strings.Join(argv, " ")}
	case len(argv) == 0:
		argv = []string{"/bin/sh"}
	}
	argv = machinePaths(argv, root)
	prog, err := lookPath(argv[0], path, dir, root)
	if errors.Is(err, fs.ErrPermission) {
		fmt.Fprintf(e.stderr, "%s: permission denied\n", argv[0])
		return 126
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: command not found\n", argv[0])
		return 127
	}
	cmd := &exec.Cmd{
		Path: prog, Args: argv, Env: environ, Dir: dir,
		Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr,
		SysProcAttr: childSysProcAttr(),
	}
	return runForwardingSignals(cmd, e, e.st.sessionsDir(r.Name))
}

// machinePaths points the arguments that name the machine's boot id at
// the machine's own file: the one absolute path in arguments that is not
// the host's.
func machinePaths(argv []string, root string) []string {
	out := slices.Clone(argv)
	for i := 1; i < len(out); i++ {
		if out[i] == bootIDPath {
			out[i] = filepath.Join(root, filepath.FromSlash(bootIDPath))
		}
	}
	return out
}

// runForwardingSignals runs cmd, passing on the interrupts the client
// gets. A client that is killed leaves cmd running: like OrbStack's, the
// command lives in the machine, not in the client, until the machine
// stops or is deleted, which ends the sessions noted in sessions. (A
// client killed in the instant between starting cmd and noting its session
// leaves cmd running after that.)
func runForwardingSignals(cmd *exec.Cmd, e *env, sessions string) int {
	if err := cmd.Start(); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			fmt.Fprintf(e.stderr, "%s: permission denied\n", cmd.Args[0])
			return 126
		}
		fmt.Fprintf(e.stderr, "%s: %v\n", cmd.Args[0], err)
		return 127
	}
	note := filepath.Join(sessions, strconv.Itoa(cmd.Process.Pid))
	if os.MkdirAll(sessions, 0o755) == nil && os.WriteFile(note, nil, 0o644) == nil {
		defer os.Remove(note)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	signal.Stop(sigs)
	close(done)
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(interface {
			Signaled() bool
			Signal() syscall.Signal
		}); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return e.transportErr(err)
}

// lookPath finds prog the way the machine would: names without a slash on
// path, absolute names inside root first (then on the host, so /bin/sh
// works), relative names from dir.
func lookPath(prog, path, dir, root string) (string, error) {
	if strings.Contains(prog, "/") {
		var cands []string
		if filepath.IsAbs(prog) {
			cands = []string{filepath.Join(root, prog), prog}
		} else {
			cands = []string{filepath.Join(dir, prog)}
		}
		for _, c := range cands {
			if isExecutable(c) {
				return c, nil
			}
		}
		for _, c := range cands {
			if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
				return "", fs.ErrPermission
			}
		}
		return "", fs.ErrNotExist
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			continue
		}
		if c := filepath.Join(d, prog); isExecutable(c) {
			return c, nil
		}
	}
	return "", fs.ErrNotExist
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// syncShimState writes the shims' state files from this invocation's
// FAKEORBCTL_SYSTEMD and FAKEORBCTL_CLOUDINIT.
func syncShimState(root string) error {
	dir := filepath.Join(root, "etc", "fakeorbctl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for file, val := range map[string]string{
		"systemd":    envOr(EnvSystemd, "running"),
		"cloud-init": envOr(EnvCloudInit, "done"),
	} {
		p := filepath.Join(dir, file)
		want := []byte(val + "\n")
		if cur, err := os.ReadFile(p); err == nil && bytes.Equal(cur, want) {
			continue
		}
		if err := writeFileAtomic(p, want); err != nil {
			return err
		}
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

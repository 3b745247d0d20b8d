package fakeorbctl

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// startMachine moves a machine to running, through "starting" for
// FAKEORBCTL_START_DELAY. Starting a running machine is a no-op.
func (e *env) startMachine(key string) error {
	delay, err := envDuration(EnvStartDelay)
	if err != nil {
		return err
	}
	var name string
	var needWait bool
	err = e.st.withLock(func() error {
		r, err := e.st.byKey(key)
		if err != nil {
			return err
		}
		name = r.Name
		switch r.State {
		case stateRunning:
			return nil
		case stateCreating:
			return rpcErr(fmt.Sprintf("cannot transition from %s to %s", r.State, stateStarting))
		}
		if delay > 0 {
			needWait = true
			return e.st.setState(r, stateStarting)
		}
		return e.st.setState(r, stateRunning)
	})
	if err != nil || !needWait {
		return err
	}
	time.Sleep(delay)
	return e.st.withLock(func() error {
		r, err := e.st.readRecord(name)
		if err != nil {
			return errNotFound(name)
		}
		if r.State == stateStarting {
			return e.st.setState(r, stateRunning)
		}
		return nil
	})
}

func (e *env) stopMachine(key string) error {
	return e.st.withLock(func() error {
		r, err := e.st.byKey(key)
		if err != nil {
			return err
		}
		if r.State == stateCreating {
			return rpcErr(fmt.Sprintf("cannot transition from %s to %s", r.State, "stopping"))
		}
		return e.st.setState(r, stateStopped)
	})
}

func (e *env) allNames() ([]string, error) {
	rs, err := e.st.records()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	return names, nil
}

func cmdStart(e *env, _ *command, p *parsedFlags) int {
	names := p.args
	if !p.bool("all") && len(names) == 0 {
		if e.st.vmStatus() == "running" {
			fmt.Fprintln(e.stderr, "OrbStack is already running. Docker engine is ready to use.\nUse --all to start all machines.")
			return 0
		}
		if err := e.ensureVM(); err != nil {
			return e.fail(err)
		}
		return 0
	}
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	if p.bool("all") {
		var err error
		if names, err = e.allNames(); err != nil {
			return e.fail(err)
		}
	}
	for _, n := range names {
		if err := e.startMachine(n); err != nil {
			return e.fail(err)
		}
	}
	return 0
}

func cmdStop(e *env, _ *command, p *parsedFlags) int {
	if e.st.vmStatus() == "stopped" {
		fmt.Fprintln(e.stderr, "OrbStack is not running")
		return 0
	}
	names := p.args
	if p.bool("all") {
		var err error
		if names, err = e.allNames(); err != nil {
			return e.fail(err)
		}
	} else if len(names) == 0 {
		// No arguments: stop the whole OrbStack service, every machine with it.
		err := e.st.withLock(func() error {
			rs, err := e.st.records()
			if err != nil {
				return err
			}
			for _, r := range rs {
				if r.State != stateCreating {
					if err := e.st.setState(r, stateStopped); err != nil {
						return err
					}
				}
			}
			return e.st.setVMStatus("stopped")
		})
		if err != nil {
			return e.fail(err)
		}
		return 0
	}
	for _, n := range names {
		if err := e.stopMachine(n); err != nil {
			return e.fail(err)
		}
	}
	return 0
}

func cmdRestart(e *env, c *command, p *parsedFlags) int {
	if e.st.vmStatus() == "stopped" {
		fmt.Fprintln(e.stderr, "OrbStack is not running")
		return 0
	}
	names := p.args
	if p.bool("all") {
		var err error
		if names, err = e.allNames(); err != nil {
			return e.fail(err)
		}
	} else if len(names) == 0 {
		return e.usageErr(c, "no machines specified")
	}
	for _, n := range names {
		if err := e.stopMachine(n); err != nil {
			return e.fail(err)
		}
		if err := e.startMachine(n); err != nil {
			return e.fail(err)
		}
	}
	return 0
}

// deleteByIDPanic is what orbctl 2.2.3 prints when delete is given a
// machine ID: the records map is keyed by name, so the lookup is nil
// (OrbStack's CLI reference, ../shared/reference/orbctl.md §1.2).
const deleteByIDPanic = `panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x2 addr=0x0 pc=0x1027f9a4c]

goroutine 1 [running]:
github.com/orbstack/macvirt/scon/cmd/scli/cmd.init.func11(0x140003bd808, {0x1400038a3c0, 0x2, 0x2})
	/Users/runner/work/macvirt/macvirt/scon/cmd/scli/cmd/delete.go:141 +0x39c
github.com/spf13/cobra.(*Command).execute(0x140003bd808, {0x1400038a380, 0x2, 0x2})
	/Users/runner/go/pkg/mod/github.com/spf13/cobra@v1.8.1/command.go:985 +0x834
github.com/spf13/cobra.(*Command).ExecuteC(0x1400037c308)
	/Users/runner/go/pkg/mod/github.com/spf13/cobra@v1.8.1/command.go:1117 +0x344
github.com/spf13/cobra.(*Command).Execute(...)
	/Users/runner/go/pkg/mod/github.com/spf13/cobra@v1.8.1/command.go:1041
github.com/orbstack/macvirt/scon/cmd/scli/cmd.Execute()
	/Users/runner/work/macvirt/macvirt/scon/cmd/scli/cmd/root.go:49 +0x28
main.runCtl(0x0)
	/Users/runner/work/macvirt/macvirt/scon/cmd/scli/main.go:104 +0x12c
main.main()
	/Users/runner/work/macvirt/macvirt/scon/cmd/scli/main.go:29 +0x1a0
`

func cmdDelete(e *env, c *command, p *parsedFlags) int {
	deleteFail, err := envInt(EnvDeleteFail)
	if err != nil {
		return e.fail(err)
	}
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	names := p.args
	if p.bool("all") {
		if names, err = e.allNames(); err != nil {
			return e.fail(err)
		}
	} else if len(names) == 0 {
		return e.usageErr(c, "no machines specified")
	}
	// Resolve everything first: one unknown key aborts before any deletion.
	byName := map[string]*Record{}
	for _, n := range names {
		r, err := e.st.byKey(n)
		if err != nil {
			return e.fail(err)
		}
		byName[r.Name] = r
	}
	if f, ok := e.stdin.(*os.File); ok && !p.bool("force") && isTerminal(f) {
		fmt.Fprintln(e.stderr, "WARNING: This will PERMANENTLY DELETE ALL DATA in the following machines:")
		for _, n := range names {
			fmt.Fprintln(e.stderr, "  "+n)
		}
		fmt.Fprint(e.stderr, "You cannot undo this action.\n\nContinue [y/N]? ")
		resp, _ := bufio.NewReader(f).ReadString('\n')
		if r := strings.ToLower(strings.TrimSpace(resp)); r != "y" && r != "yes" {
			fmt.Fprintln(e.stderr, "Aborted")
			return 1
		}
	}
	for _, n := range names {
		r := byName[n]
		if r == nil {
			// n was an ID: orbctl dereferences a nil record here.
			fmt.Fprint(e.stderr, deleteByIDPanic)
			return 2
		}
		var cleanup func()
		err := e.st.withLock(func() error {
			cur, err := e.st.readRecord(r.Name)
			if err != nil || cur.ID != r.ID {
				return errNotFound(r.ID)
			}
			if err := e.st.setState(cur, stateStopped); err != nil {
				return err
			}
			fail, err := e.st.take("delete_fail", deleteFail)
			if err != nil {
				return err
			}
			if fail {
				return rpcErr(fmt.Sprintf("delete '%s': remove rootfs: device or resource busy", r.Name))
			}
			if cleanup, err = e.st.removeMachine(cur); err != nil {
				return err
			}
			if e.st.defaultID() == cur.ID {
				return e.st.setDefaultID("")
			}
			return nil
		})
		if cleanup != nil {
			cleanup()
		}
		if err != nil {
			return e.fail(err)
		}
	}
	return 0
}

func cmdRename(e *env, _ *command, p *parsedFlags) int {
	oldKey, newName := p.args[0], p.args[1]
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	err := e.st.withLock(func() error {
		r, err := e.st.byKey(oldKey)
		if err != nil {
			return err
		}
		if r.Name == newName {
			return nil
		}
		if !validName(newName) {
			return rpcErr(fmt.Sprintf("invalid machine name '%s'", newName))
		}
		if _, err := os.Stat(e.st.machineDir(newName)); err == nil {
			return rpcErr(fmt.Sprintf("machine '%q' already exists", newName))
		}
		if r.State == stateCreating {
			return rpcErr("machine is being created")
		}
		if err := os.Rename(e.st.machineDir(r.Name), e.st.machineDir(newName)); err != nil {
			return err
		}
		r.Name = newName
		if err := os.WriteFile(filepath.Join(e.st.rootDir(newName), "etc", "hostname"), []byte(newName+"\n"), 0o644); err != nil {
			return err
		}
		return e.st.writeRecord(r)
	})
	if err != nil {
		return e.fail(err)
	}
	return 0
}

func cmdDefault(e *env, _ *command, p *parsedFlags) int {
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	if len(p.args) == 0 {
		id := e.st.defaultID()
		if r, err := e.st.byID(id); id != "" && err == nil {
			fmt.Fprintln(e.stdout, r.Name)
			return 0
		}
		fmt.Fprintln(e.stderr, "No default machine set. (will pick most recently-used machine)")
		return 0
	}
	err := e.st.withLock(func() error {
		if p.args[0] == "none" {
			return e.st.setDefaultID("")
		}
		r, err := e.st.byKey(p.args[0])
		if err != nil {
			return err
		}
		return e.st.setDefaultID(r.ID)
	})
	if err != nil {
		return e.fail(err)
	}
	return 0
}

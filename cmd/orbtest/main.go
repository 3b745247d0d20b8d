// Command orbtest inspects and cleans up the machines that orbtest's test
// fixtures create: which backend is usable (doctor), which machines exist
// and to which run they belong (ls), deleting those of ended runs (gc), and
// the template cache that runs keep (cache ls, cache prune); and it runs Go
// test binaries in pool machines for
// `GOOS=linux go test -exec "orbtest exec"` (exec).
//
// The backend is chosen as the library chooses it: ORBTEST_BACKEND
// (orbstack, incus or auto). The state directory is ORBTEST_STATE_DIR, or
// orbtest under the user's cache directory.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: it parses its own flags from args and returns
// the process's exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"doctor", "check that a backend is usable and report its version, image and state", runDoctor},
		{"ls", "list orbtest machines by run, with their role, lease and state", runLs},
		{"exec", "run a Go test binary in a pool machine, for go test -exec \"orbtest exec\"", runExec},
		{"gc", "delete the machines of ended runs (-all: every orbtest machine; NAME...: those)", runGC},
		{"cache", "list (ls) or delete (prune) the template cache's entries", runCache},
	}
}

// run is the whole command: args are the arguments after the program name.
// It returns the exit code: 0 on success, 1 on failure, 2 on bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 1 {
			if c, ok := lookup(rest[0]); ok {
				return c.run(ctx, []string{"-h"}, stdout, stdout)
			}
		}
		usage(stdout)
		return exitOK
	}
	c, ok := lookup(name)
	if !ok {
		errorf(stderr, "unknown command %q", name)
		usage(stderr)
		return exitUsage
	}
	return c.run(ctx, rest, stdout, stderr)
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

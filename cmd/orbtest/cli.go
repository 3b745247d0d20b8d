package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usage prints the top-level usage.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: orbtest <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'orbtest help <command>' for a command's flags.")
	fmt.Fprintln(w, "The backend is ORBTEST_BACKEND (orbstack, incus or auto, the default);")
	fmt.Fprintln(w, "the state directory is ORBTEST_STATE_DIR, else orbtest in the user cache directory.")
}

// count says "1 machine" or "2 machines" ("entry": "2 entries").
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, noun[:len(noun)-1])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// errorf prints an error the way every subcommand does: "orbtest: " and a
// lower-case message, to stderr.
func errorf(stderr io.Writer, format string, args ...any) {
	fmt.Fprintf(stderr, "orbtest: "+format+"\n", args...)
}

// newFlags returns a flag set for subcommand name whose usage prints
// synopsis (the line after "usage: orbtest "), then text, then the flags.
func newFlags(name, synopsis, text string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("orbtest "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: orbtest %s\n\n%s\n", synopsis, strings.TrimSpace(text))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args into fs and accepts no positional arguments. It
// returns -1 to go on, or the exit code to return: 0 for -h, 2 for bad
// usage (the error and the usage have been printed).
func parse(fs *flag.FlagSet, args []string) int { return parseArgs(fs, args, false) }

// parseArgs is parse, accepting positional arguments when positional is set.
func parseArgs(fs *flag.FlagSet, args []string, positional bool) int {
	out := fs.Output()
	fs.SetOutput(io.Discard) // the flag package's own messages lack our prefix
	err := fs.Parse(args)
	fs.SetOutput(out)
	name := strings.TrimPrefix(fs.Name(), "orbtest ")
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return exitOK
	case err != nil:
		errorf(out, "%s: %v", name, err)
		fs.Usage()
		return exitUsage
	case fs.NArg() > 0 && !positional:
		errorf(out, "%s: unexpected argument %q", name, fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	return -1
}

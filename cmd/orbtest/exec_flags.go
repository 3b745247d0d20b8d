package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
	lib "github.com/orbtest/go-orbtest/orbtest"
)

// execFlags are the flags of orbtest exec.
type execFlags struct {
	distro, version, arch, user string
	setup, files, env           listFlag
}

// listFlag is a flag that may be given many times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func (f *execFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.distro, "distro", "debian", "the machine's `distro`: debian, ubuntu, alpine, fedora, ...")
	fs.StringVar(&f.version, "version", "bookworm", "the distro's `version`")
	fs.StringVar(&f.arch, "arch", "", "the machine's `arch` (amd64, arm64, i386); default: the test binary's (its ELF header)")
	fs.StringVar(&f.user, "user", "root", "the `user` the test binary runs as")
	fs.Var(&f.setup, "setup", "a setup `script` the machine runs once per run (repeatable)")
	fs.Var(&f.files, "file", "`HOST:GUEST`: copy the host file into the machine at the absolute guest path (repeatable)")
	fs.Var(&f.env, "env", "`NAME` or NAME=VALUE: pass the host's NAME, or NAME=VALUE, to the test binary (repeatable)")
}

// parseExecFlags parses ORBTEST_EXEC_FLAGS, then args, into f, and returns
// the positional arguments of args: the test binary and its arguments.
func parseExecFlags(fs *flag.FlagSet, f *execFlags, args []string) ([]string, error) {
	f.register(fs)
	if v := env.Get(env.ExecFlags); v != "" {
		words, err := splitWords(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", env.ExecFlags, err)
		}
		if err := fs.Parse(words); err != nil {
			return nil, fmt.Errorf("%s: %w", env.ExecFlags, err)
		}
		if fs.NArg() > 0 {
			return nil, fmt.Errorf("%s: unexpected argument %q: it holds flags only", env.ExecFlags, fs.Arg(0))
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() == 0 {
		return nil, errors.New("no test binary: use orbtest exec [flags] TESTBINARY [ARGS...], or go test -exec \"orbtest exec\"")
	}
	return fs.Args(), nil
}

// spec builds the machine's spec from f for a binary of arch binArch, and
// checks it, the user and the -env entries with the builders' rules.
func (f *execFlags) spec(binArch string) (lib.Spec, []string, error) {
	s := lib.Distro(f.distro, f.version)
	if a := machineArch(binArch, f.arch, hostArch(runtime.GOARCH)); a != "" {
		s = s.WithArch(a)
	}
	if len(f.setup) > 0 {
		s = s.WithSetup(f.setup...)
	}
	var errs []error
	for _, fl := range f.files {
		host, guest, ok := strings.Cut(fl, ":")
		if !ok || host == "" || guest == "" {
			errs = append(errs, fmt.Errorf("-file %q: use HOST:GUEST", fl))
			continue
		}
		s = s.WithFile(host, guest)
	}
	if err := s.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := backend.CheckUser(f.user); err != nil {
		errs = append(errs, fmt.Errorf("-user: %w", err))
	}
	envs, err := envPairs(f.env, os.LookupEnv)
	if err != nil {
		errs = append(errs, err)
	}
	return s, envs, errors.Join(errs...)
}

// machineArch decides the machine's architecture: the -arch flag when
// given, else the binary's; "" (the backend's native one) when that is the
// host's, so the spec is the one tests on this host use.
func machineArch(binArch, flagArch, host string) string {
	a := binArch
	if flagArch != "" {
		a = flagArch
	}
	if a == host {
		return ""
	}
	return a
}

// hostArch is GOARCH in orbtest's names.
func hostArch(goarch string) string {
	if goarch == "386" {
		return "i386"
	}
	return goarch
}

// envPairs turns -env entries into KEY=VALUE: NAME takes the host's value
// (and is left out when the host has none), NAME=VALUE is as given.
func envPairs(entries []string, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	var errs []error
	for _, e := range entries {
		k, v, eq := strings.Cut(e, "=")
		if k == "" || strings.ContainsAny(k, " :\x00") {
			errs = append(errs, fmt.Errorf("-env %q: use NAME or NAME=VALUE", e))
			continue
		}
		if !eq {
			var ok bool
			if v, ok = lookup(k); !ok {
				continue
			}
		}
		out = append(out, k+"="+v)
	}
	return out, errors.Join(errs...)
}

// splitWords splits s into words as a POSIX shell would, for quoting only:
// blanks separate words, '...' and "..." quote, a backslash escapes the
// next character outside single quotes.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range s {
		switch {
		case esc:
			w.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, in = true, true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if quote != 0 || esc {
		return nil, fmt.Errorf("unterminated quote or escape in %q", s)
	}
	if in {
		words = append(words, w.String())
	}
	return words, nil
}

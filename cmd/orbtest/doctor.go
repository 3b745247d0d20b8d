package main

import (
	"slices"

	"github.com/orbtest/go-orbtest/internal/env"

	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/backends"
)

const doctorHelp = `
Check whether orbtest can run machines here: which backend ORBTEST_BACKEND
selects, its binary, version, status and features, whether the default
image is at hand, the state directory and what it holds, and the ORBTEST_*
variables that are set. The last line is the verdict, with what to do
when something is missing.

Exit status: 0 when a backend is usable, 1 when not.
`

// report is what doctor found.
type report struct {
	choice   string         // ORBTEST_BACKEND, or auto
	d        backend.Driver // nil when no backend is usable
	info     backend.Info
	err      error // why no backend is usable
	lines    [][2]string
	problems []string // each makes orbtest unusable; a fix each
	warnings []string
	hints    []string
}

func (r *report) add(key, value string) { r.lines = append(r.lines, [2]string{key, value}) }

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("doctor", "doctor", doctorHelp, stderr)
	if code := parse(fs, args); code >= 0 {
		return code
	}
	r := &report{choice: backends.Choice()}
	r.checkBackend(ctx)
	r.checkState()
	r.add("env", strings.Join(orbtestEnv(), "\n"))
	r.print(stdout)
	if len(r.problems) > 0 {
		return exitFail
	}
	return exitOK
}

// checkBackend selects and probes the backend, and checks its image.
func (r *report) checkBackend(ctx context.Context) {
	how := env.Backend + "=" + r.choice
	if env.Get(env.Backend) == "" {
		how = env.Backend + " unset: auto"
	}
	r.d, r.err = selectDriver(ctx)
	if r.err == nil {
		r.info, r.err = r.d.Probe(ctx)
	}
	if r.err != nil {
		name := r.choice
		if name == "auto" {
			name = "none"
		}
		r.add("backend", fmt.Sprintf("%s (%s)", name, how))
		r.add("status", "unavailable: "+r.err.Error())
		r.problems = append(r.problems, setupHint(r.choice))
		return
	}
	r.add("backend", fmt.Sprintf("%s (%s)", r.d.Name(), how))
	if path, err := binary(r.d.Name()); err == nil {
		r.add("binary", path)
	}
	r.add("version", r.info.Version)
	r.add("status", "running")
	r.add("features", features(r.d, r.info))
	image, warn := checkImage(ctx, r.d.Name())
	r.add("image", image)
	if warn != "" {
		r.warnings = append(r.warnings, warn)
	}
}

// setupHint says how to get a usable backend for choice.
func setupHint(choice string) string {
	switch choice {
	case "orbstack":
		return "install OrbStack (macOS) and start it with `orbctl start`, or set ORBTEST_ORBCTL to an orbctl binary"
	case "incus":
		return "run scripts/setup-incus.sh (as root: installs Incus, starts incusd, builds the debian/bookworm image)"
	case "auto":
		return "on Linux run scripts/setup-incus.sh (as root); on macOS install and start OrbStack; or set ORBTEST_BACKEND"
	}
	return "set ORBTEST_BACKEND to orbstack, incus or auto"
}

// features lists what the backend can do, then what it cannot: clones and
// snapshots as the driver implements them, the rest as its Info says.
func features(d backend.Driver, info backend.Info) string {
	_, clone := d.(backend.Cloner)
	_, snapshot := d.(backend.Snapshotter)
	var have, lack []string
	for _, x := range []struct {
		name string
		ok   bool
	}{
		{"clone", clone}, {"snapshot", snapshot}, {"isolated", slices.Contains(info.Features, "isolated")},
		{"limits", slices.Contains(info.Features, "limits")}, {"cloud-init", slices.Contains(info.Features, "cloud-init")},
	} {
		if x.ok {
			have = append(have, x.name)
		} else {
			lack = append(lack, x.name)
		}
	}
	s := strings.Join(have, ", ")
	if len(lack) > 0 {
		s += "; missing: " + strings.Join(lack, ", ")
	}
	return s
}

// orbtestEnv returns the ORBTEST_* variables that are set, sorted.
func orbtestEnv() []string {
	set := env.Set()
	sort.Strings(set)
	if len(set) == 0 {
		return []string{"(no ORBTEST_* variable set)"}
	}
	return set
}

// print writes the report: aligned "key: value" lines (a multi-line value
// continues under its first line), warnings, hints and the verdict.
func (r *report) print(w io.Writer) {
	const width = 11
	for _, l := range r.lines {
		for i, v := range strings.Split(l[1], "\n") {
			key := ""
			if i == 0 {
				key = l[0] + ":"
			}
			fmt.Fprintf(w, "%-*s %s\n", width, key, v)
		}
	}
	for _, s := range r.warnings {
		fmt.Fprintf(w, "%-*s %s\n", width, "warning:", s)
	}
	for _, s := range r.hints {
		fmt.Fprintf(w, "%-*s %s\n", width, "hint:", s)
	}
	if len(r.problems) > 0 {
		fmt.Fprintf(w, "%-*s not usable: %s\n", width, "verdict:", strings.Join(r.problems, "; "))
		return
	}
	fmt.Fprintf(w, "%-*s ok: orbtest can run machines on %s %s\n", width, "verdict:", r.d.Name(), r.info.Version)
}

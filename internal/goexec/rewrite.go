package goexec

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Output is a host path the binary would write, and the name under
// [Layout.Out] it writes instead.
type Output struct {
	Flag string // the flag or variable that named it, such as "test.coverprofile" or "GOCOVERDIR"
	Host string // absolute host path
	Key  string // its name under Layout.Out: "N-BASE"
	Dir  bool   // a directory: its host contents go into the machine first and all of it comes back
}

// Plan is what [Rewrite] decided: the binary's arguments and extra
// environment, and the files to bring back.
type Plan struct {
	Args    []string
	Env     []string // KEY=VALUE, guest values
	Outputs []Output
}

// pathFlag says how a test flag that names a host path is rewritten.
type pathFlag struct {
	dir  bool // names a directory (else a file)
	rel  bool // a relative file name is taken from -test.outputdir, as testing does
	push bool // a directory whose host contents the binary reads (go test puts coverage meta-data there)
}

// pathFlags are the test binary's flags that name host paths, without the
// leading "-test.".
var pathFlags = map[string]pathFlag{
	"coverprofile": {}, // testing creates it where it says, -test.outputdir or not
	"cpuprofile":   {rel: true},
	"memprofile":   {rel: true},
	"blockprofile": {rel: true},
	"mutexprofile": {rel: true},
	"trace":        {rel: true},
	"testlogfile":  {},
	"outputdir":    {dir: true}, // profiles and -test.artifacts output
	"gocoverdir":   {dir: true, push: true},
	"fuzzcachedir": {dir: true, push: true},
}

// Rewrite returns the plan for running a test binary with args in the
// machine laid out as l: each flag of pathFlags (-test.NAME=VALUE or
// -test.NAME VALUE, with one or two dashes, up to "--") gets a guest path
// under l.Out instead of its host one, and gocoverdir, the host's
// GOCOVERDIR ("" when unset), becomes a guest GOCOVERDIR. Relative host
// paths are from hostDir (the package directory, go test's working
// directory for the binary), or for profiles from -test.outputdir when it
// is given, as the testing package reads them. Other arguments pass
// through as they are.
func Rewrite(args []string, gocoverdir, hostDir string, l Layout) (Plan, error) {
	var p Plan
	p.Args = append([]string(nil), args...)
	type site struct {
		i     int // index of the value in p.Args
		name  string
		flag  pathFlag
		value string
		eq    bool // the value is after "=" in p.Args[i]
	}
	var sites []site
	for i := 0; i < len(p.Args); i++ {
		a := p.Args[i]
		if a == "--" {
			break
		}
		name, value, eq := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") || !strings.HasPrefix(name, "test.") {
			continue
		}
		f, ok := pathFlags[strings.TrimPrefix(name, "test.")]
		if !ok {
			continue
		}
		if !eq {
			if i+1 == len(p.Args) {
				return Plan{}, fmt.Errorf("flag -%s needs a value", name)
			}
			i++
			value = p.Args[i]
		}
		sites = append(sites, site{i, name, f, value, eq})
	}
	abs := func(base, v string) string {
		if filepath.IsAbs(v) {
			return filepath.Clean(v)
		}
		return filepath.Join(base, v)
	}
	hostOut, guestOut := "", ""
	add := func(flag, host string, dir bool) string {
		for _, o := range p.Outputs {
			if o.Host == host && o.Dir == dir {
				return path.Join(l.Out, o.Key)
			}
		}
		key := fmt.Sprintf("%d-%s", len(p.Outputs), filepath.Base(host))
		p.Outputs = append(p.Outputs, Output{Flag: flag, Host: host, Key: key, Dir: dir})
		return path.Join(l.Out, key)
	}
	for _, s := range sites { // the output directory first: profiles are relative to it
		if s.name == "test.outputdir" && s.value != "" {
			hostOut = abs(hostDir, s.value)
			guestOut = add(s.name, hostOut, true)
		}
	}
	set := func(s site, v string) {
		if s.eq {
			p.Args[s.i] = "-" + s.name + "=" + v
		} else {
			p.Args[s.i] = v
		}
	}
	for _, s := range sites {
		if s.value == "" {
			continue
		}
		if s.name == "test.outputdir" {
			set(s, l.FromPkgDir(guestOut))
			continue
		}
		base := hostDir
		if s.flag.rel && hostOut != "" {
			base = hostOut
		}
		g := add(s.name, abs(base, s.value), s.flag.dir)
		if s.flag.rel && guestOut != "" {
			set(s, relSlash(guestOut, g)) // testing joins a relative name to -test.outputdir
		} else {
			set(s, l.FromPkgDir(g))
		}
	}
	if gocoverdir != "" {
		g := add("GOCOVERDIR", abs(hostDir, gocoverdir), true)
		p.Env = append(p.Env, "GOCOVERDIR="+l.FromPkgDir(g))
	}
	return p, nil
}

// pushes reports whether the host contents of output o go into the
// machine before the run.
func (o Output) pushes() bool {
	if !o.Dir {
		return false
	}
	if o.Flag == "GOCOVERDIR" {
		return true
	}
	return pathFlags[strings.TrimPrefix(o.Flag, "test.")].push
}

package orbtest

import (
	"fmt"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// An Option configures [NewVM] and [StartVM]. A [Spec] is an Option; the
// others come from the With functions in this package. Later options
// override earlier ones.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Options bundles several options into one, so a suite can name its common
// settings once.
func Options(opts ...Option) Option {
	return optionFunc(func(c *config) {
		for _, o := range opts {
			if o != nil {
				o.apply(c)
			}
		}
	})
}

func (s Spec) apply(c *config) { c.spec = s; c.specSet = true }

// Keep says when a machine outlives its test, for debugging.
type Keep string

// Keep policies. The default comes from ORBTEST_KEEP, else KeepNever.
const (
	KeepNever  Keep = "never"  // delete the machine when the test ends
	KeepFailed Keep = "failed" // keep it when the test failed
	KeepAlways Keep = "always" // always keep it
)

type config struct {
	spec          Spec
	specSet       bool
	checks        []Check
	readyTimeout  time.Duration
	createTimeout time.Duration
	keep          Keep
	backend       string
	logf          func(format string, args ...any)
	mode          mode
	stateDir      string // ORBTEST_STATE_DIR
	runID         string
	proxy         string         // ORBTEST_PACKAGE_PROXY
	reaper        bool           // start the run's reaper with its pool
	driver        backend.Driver // set by tests
	holding       int            // machines the asking test holds already (NewVM, NewVMs)
	artifacts     bool           // go test -artifacts: a failed test's machines leave diagnostics
	noCache       bool           // NoCache: the run builds its own template
	errs          []error
}

func defaultConfig() *config {
	return &config{
		readyTimeout:  5 * time.Minute,
		createTimeout: backend.Timeout(backend.OpCreate),
		keep:          envKeep(),
		backend:       envBackend(),
		logf:          func(string, ...any) {},
		stateDir:      runstate.Dir(),
		runID:         RunID(),
		reaper:        !env.Bool(env.NoReaper),
		proxy:         env.Get(env.Proxy),
		artifacts:     artifactsFlag(),
	}
}

func newConfig(opts []Option) (*config, error) {
	c := defaultConfig()
	Options(opts...).apply(c)
	if !c.specSet {
		c.errs = append(c.errs, fmt.Errorf("no spec: pass one, such as orbtest.Debian(%q)", "bookworm"))
	} else if err := c.spec.Validate(); err != nil {
		c.errs = append(c.errs, err)
	}
	if err := checkCacheMode(); err != nil {
		c.errs = append(c.errs, err)
	}
	if err := checkProxy(c.proxy); err != nil {
		c.errs = append(c.errs, err)
	}
	switch c.keep {
	case KeepNever, KeepFailed, KeepAlways:
	default:
		c.errs = append(c.errs, fmt.Errorf("bad keep policy %q: use never, failed or always", c.keep))
	}
	switch c.backend {
	case "auto", "orbstack", "incus":
	default:
		c.errs = append(c.errs, fmt.Errorf("bad backend %q: use orbstack, incus or auto", c.backend))
	}
	return c, joinErrs(c.errs)
}

// WithReady adds readiness checks that must pass, in order, before the
// machine is handed to the test. They run after the built-in ones (the
// machine is running and runs a command; cloud-init finished when the spec
// has user data) and after the setup steps.
func WithReady(checks ...Check) Option {
	return optionFunc(func(c *config) { c.checks = append(c.checks, checks...) })
}

// WithReadyTimeout bounds the wait for the checks of [WithReady], each time
// a test gets a machine. Default 5m. Making the machine (create, and boot
// until it runs, answers, has an address and has finished cloud-init) is
// bounded by [WithCreateTimeout]; setup steps only by the test's deadline.
// NewVM also stops waiting in time to tear the machine down before the
// test binary's -timeout.
func WithReadyTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("WithReadyTimeout(%v): use a positive duration", d))
			return
		}
		c.readyTimeout = d
	})
}

// WithCreateTimeout bounds one create call, and then the wait until the
// machine runs, answers, has an address and has finished cloud-init (also
// after each reset). A create call that takes longer is retried, and a
// machine it made after all is adopted. Default 5m.
func WithCreateTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("WithCreateTimeout(%v): use a positive duration", d))
			return
		}
		c.createTimeout = d
	})
}

// WithKeep sets when the machine outlives its test. Default from
// ORBTEST_KEEP, else KeepNever. A kept machine is logged with the commands
// to get a shell in it and to delete it.
func WithKeep(k Keep) Option { return optionFunc(func(c *config) { c.keep = k }) }

// WithBackend chooses the backend: "orbstack", "incus" or "auto" (the first
// of those two that is installed and running). Default from ORBTEST_BACKEND,
// else "auto".
func WithBackend(name string) Option { return optionFunc(func(c *config) { c.backend = name }) }

// WithLogf sends lifecycle lines (creating, ready, deleted) to logf. [NewVM]
// writes them to t.Output(); [StartVM] discards them by default.
func WithLogf(logf func(format string, args ...any)) Option {
	return optionFunc(func(c *config) {
		if logf != nil {
			c.logf = logf
		}
	})
}

// withDriver makes StartVM use d instead of selecting a backend. Tests only.
// NoCache makes the machines of the test come from a template the run
// builds for itself and deletes at its end, never from the template cache
// across runs, and keeps none: for a spec whose setup steps fetch
// something that changes under one name ("latest" of a tool), which the
// cache's key, made of the spec's content, cannot see. By default a spec's
// provisioned template is kept as a cache entry (ORBTEST_CACHE=on).
func NoCache() Option { return optionFunc(func(c *config) { c.noCache = true }) }

func withDriver(d backend.Driver) Option { return optionFunc(func(c *config) { c.driver = d }) }

// withArtifacts says whether failed tests save artifacts, as -artifacts
// does. Tests only.
func withArtifacts(on bool) Option { return optionFunc(func(c *config) { c.artifacts = on }) }

// withRun puts the pool's state in stateDir under run ID id, and starts no
// reaper. Tests only.
func withRun(stateDir, id string) Option {
	return optionFunc(func(c *config) { c.stateDir, c.runID, c.reaper = stateDir, id, false })
}

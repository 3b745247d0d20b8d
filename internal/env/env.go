// Package env is the one place orbtest reads its environment. [Vars] lists
// every ORBTEST_* variable the library, its reaper and the orbtest command
// read, with its default; the README's environment table is that list (a
// test keeps them equal). Every reader goes through [Get] or a typed
// accessor here, so no variable is read under two rules.
package env

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Var is one environment variable orbtest reads.
type Var struct {
	Name    string
	Default string // as the README shows it
	Meaning string
	// Internal variables are set by orbtest for its own processes (the
	// reaper); users never set them, and the README does not list them.
	Internal bool
}

// The variables, in the README's order.
const (
	Backend     = "ORBTEST_BACKEND"
	Require     = "ORBTEST_REQUIRE"
	Keep        = "ORBTEST_KEEP"
	MaxVMs      = "ORBTEST_MAX_VMS"
	MaxCreates  = "ORBTEST_MAX_CREATES"
	StateDir    = "ORBTEST_STATE_DIR"
	RunID       = "ORBTEST_RUN_ID"
	RunOwner    = "ORBTEST_RUN_OWNER"
	IncusRemote = "ORBTEST_INCUS_REMOTE"
	Orbctl      = "ORBTEST_ORBCTL"
	Incus       = "ORBTEST_INCUS"
	NoReaper    = "ORBTEST_NO_REAPER"
	Proxy       = "ORBTEST_PACKAGE_PROXY"
	Cache       = "ORBTEST_CACHE"
	CacheMaxAge = "ORBTEST_CACHE_MAX_AGE"
	CacheMax    = "ORBTEST_CACHE_MAX_ENTRIES"
	ExecFlags   = "ORBTEST_EXEC_FLAGS"
	Reaper      = "ORBTEST_REAPER"
	Release     = "ORBTEST_RELEASE"
)

// Defaults of the numeric variables.
const (
	DefaultMaxVMs     = 4
	DefaultMaxCreates = 2
	// DefaultCacheMax is how many template cache entries a state
	// directory keeps; the least recently used go first.
	DefaultCacheMax = 20
	// DefaultCacheMaxAge is how long a cache entry may go unused before
	// a run's start prunes it.
	DefaultCacheMaxAge = 7 * 24 * time.Hour
)

// Vars lists every variable orbtest reads.
var Vars = []Var{
	{Name: Backend, Default: "`auto`", Meaning: "`orbstack`, `incus` or `auto`"},
	{Name: Require, Default: "unset", Meaning: "`1`: fail tests instead of skipping them when no backend is available (CI)"},
	{Name: Keep, Default: "`never`", Meaning: "`never`, `failed` or `always`: when machines outlive their test"},
	{Name: MaxVMs, Default: "`" + strconv.Itoa(DefaultMaxVMs) + "`", Meaning: "machines alive at once across all processes of a run (templates aside)"},
	{Name: MaxCreates, Default: "`" + strconv.Itoa(DefaultMaxCreates) + "`", Meaning: "concurrent creates and clones across all processes of a run"},
	{Name: StateDir, Default: "`orbtest` in the user cache directory", Meaning: "where runs keep their leases and records"},
	{Name: RunID, Default: "from the `go` command", Meaning: "groups processes into one run"},
	{Name: RunOwner, Default: "the `go` command", Meaning: "pid whose exit ends the run, for wrappers that run test binaries themselves"},
	{Name: IncusRemote, Default: "local", Meaning: "Incus remote to create machines on (`incus remote add ...`)"},
	{Name: Orbctl, Default: "`orbctl` from `PATH`", Meaning: "the OrbStack CLI to run: a path, or a name looked up in `PATH`"},
	{Name: Incus, Default: "`incus` from `PATH`", Meaning: "the Incus CLI to run: a path, or a name looked up in `PATH`"},
	{Name: Proxy, Default: "unset", Meaning: "HTTP proxy for package downloads (`http://HOST:PORT`), configured in every machine orbtest creates: apt, dnf, and `http_proxy` for setup steps and login shells"},
	{Name: Cache, Default: "`on`", Meaning: "the template cache across runs: `on`, `off` (build every template in the run, keep none), or `refresh` (rebuild the entries the run uses, once per run)"},
	{Name: CacheMaxAge, Default: "`168h`", Meaning: "cache entries unused for longer are pruned when a run starts (a Go duration)"},
	{Name: CacheMax, Default: "`" + strconv.Itoa(DefaultCacheMax) + "`", Meaning: "cache entries kept at most; at a run's start the least recently used beyond it are pruned"},
	{Name: ExecFlags, Default: "unset", Meaning: "flags of `orbtest exec` (`-distro`, `-version`, `-arch`, `-setup`, `-file`, `-user`, `-env`) read before its command line's, for `go_linux_ARCH_exec` wrappers"},
	{Name: NoReaper, Default: "unset", Meaning: "`1`: start no reaper (machines of a crashed run are then deleted by the next run's sweep or `orbtest gc`)"},
	{Name: Reaper, Default: "unset", Meaning: "set by orbtest in the reaper process it starts: the run's directory", Internal: true},
	{Name: Release, Default: "unset", Meaning: "set by orbtest in the process it hands a lease to for its reset: the lease, as JSON", Internal: true},
}

// known reports whether name is in Vars.
func known(name string) bool {
	for _, v := range Vars {
		if v.Name == name {
			return true
		}
	}
	return false
}

// Get returns the value of the variable name with surrounding space
// trimmed, "" when it is unset. It panics when name is not in [Vars]: a
// variable read anywhere is listed here.
func Get(name string) string {
	if !known(name) {
		panic(fmt.Sprintf("env: %s is not in env.Vars", name))
	}
	return strings.TrimSpace(os.Getenv(name))
}

// Lower is Get in lower case.
func Lower(name string) string { return strings.ToLower(Get(name)) }

// Bool reports whether the variable name is set to 1, true or yes (in any
// case).
func Bool(name string) bool {
	switch Lower(name) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// PositiveInt returns the variable name as a positive integer, or def when
// it is unset or not a positive integer.
func PositiveInt(name string, def int) int {
	if v, err := strconv.Atoi(Get(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// Duration returns the variable name as a positive Go duration ("36h",
// "90m"), or def when it is unset or not one.
func Duration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(Get(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// Choice returns the backend ORBTEST_BACKEND names, in lower case: orbstack,
// incus or auto (the default).
func Choice() string {
	if v := Lower(Backend); v != "" {
		return v
	}
	return "auto"
}

// Set returns the ORBTEST_* variables of the environment that are set, as
// KEY=VALUE, in the order of the environment.
func Set() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ORBTEST_") {
			out = append(out, kv)
		}
	}
	return out
}

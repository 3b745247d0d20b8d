package orbtest

import "github.com/orbtest/go-orbtest/internal/runstate"

// mode says how a test shares its machine.
type mode int

const (
	modePool   mode = iota // exclusive lease of a reused machine, reset after the test
	modeFresh              // a machine of its own, deleted after the test
	modeShared             // one machine per spec shared by read-only tests, never reset
)

// Fresh gives the test a machine of its own that no other test has used
// or will use: cloned from the spec's template and deleted when the test
// ends. Use it for tests that change what a reset cannot undo, or that
// must see a first boot.
func Fresh() Option { return optionFunc(func(c *config) { c.mode = modeFresh }) }

// Shared gives the test the one machine of its spec that every Shared test
// of the run uses at the same time, and never resets. Use it for read-only
// tests (inspecting packages, querying a service): they then cost nothing
// after the first.
func Shared() Option { return optionFunc(func(c *config) { c.mode = modeShared }) }

// role is the kind of record a mode's machine has in the run.
func (m mode) role() runstate.Role {
	switch m {
	case modeFresh:
		return runstate.RoleFresh
	case modeShared:
		return runstate.RoleShared
	}
	return runstate.RolePool
}

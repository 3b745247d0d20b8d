package orbtest

import (
	"fmt"
	"slices"

	"github.com/orbtest/go-orbtest/internal/runstate"
)

// Scheduling.
//
// When a test asks for a machine, the pool reads the run's records under
// the run lock, notes which machines are free to lease (their lease locks
// can be taken), and asks decide what to do. decide is a pure function of
// that data; reserve carries its answer out.

// action is what a request does next.
type action int

const (
	actWait    action = iota // nothing to have yet: wait for a release
	actReuse                 // lease machine use as it is
	actReclaim               // rebuild machine use, whose holder died mid-lease or mid-create
	actCreate                // create a new machine (after deleting evict, when set)
)

func (a action) String() string {
	return [...]string{"wait", "reuse", "reclaim", "create"}[a]
}

// request is what a test asks of the pool.
type request struct {
	key   string        // pool key of the spec
	role  runstate.Role // pool, fresh or shared
	n     int           // machines wanted together; 0 means 1
	ahead int           // machines that tests of the run waiting longer want, of the same key and role
	max   int           // ORBTEST_MAX_VMS
}

// machine is one record of the run with what reserve saw of its lease lock.
type machine struct {
	runstate.Record
	free   bool // nobody holds its lease lock
	shared bool // a shared lock can be taken: nobody holds it exclusively
}

// decision is decide's answer.
type decision struct {
	action action
	use    string // the machine to lease or rebuild (reuse, reclaim)
	evict  string // an idle machine to delete first to make room (create)
	inUse  int    // machines that count against max
}

// decide chooses, for req, among the run's machines (in record order):
//
//   - a machine of the request's key and role that no one holds: reuse it
//     when it is idle (or shared and ready), reclaim it when a dead holder
//     left it mid-lease or mid-create. Free machines go first to the tests
//     that have waited longer (req.ahead); a shared machine is shared by
//     all at once and needs no turn;
//   - else, for a shared machine another test is creating, wait;
//   - else, when tests that waited longer are still waiting, wait;
//   - else create one, below the cap directly, at the cap after evicting
//     the machine unused the longest that no one holds and this request
//     cannot use (see evictable); with nothing to evict, wait.
func decide(req request, ms []machine) decision {
	d := decision{inUse: alive(ms)}
	ahead := req.ahead
	if req.role != runstate.RoleFresh {
		for _, m := range ms {
			if m.Key != req.key || m.Role != req.role || m.State == runstate.StateKept {
				continue
			}
			if m.Role == runstate.RoleShared && m.State == runstate.StateReady {
				if m.shared {
					return decision{action: actReuse, use: m.Name, inUse: d.inUse}
				}
				continue // being repaired
			}
			if !m.free {
				continue // leased, or being created
			}
			if ahead > 0 {
				ahead-- // free, but for a test that has waited longer
				continue
			}
			if m.State != runstate.StateIdle {
				return decision{action: actReclaim, use: m.Name, inUse: d.inUse}
			}
			return decision{action: actReuse, use: m.Name, inUse: d.inUse}
		}
		if req.role == runstate.RoleShared && hasKey(ms, req.key, req.role) {
			return d // someone is creating it
		}
	}
	if ahead > 0 {
		return d
	}
	if d.inUse >= req.max {
		if d.evict = evictable(ms, req); d.evict == "" {
			return d
		}
	}
	d.action = actCreate
	return d
}

// plan is decideAll's answer to a request of n machines: n decisions that
// give it all of them, or none when it waits.
type plan struct {
	steps []decision // in order; nil: wait
	inUse int        // machines that count against max, before the plan
}

// decideAll chooses req.n machines at once, all or nothing: it asks decide
// n times, each time over the run's machines as the steps before left them
// (a machine chosen is no longer free, a machine to create counts against
// the cap, an evicted one is gone). When any step must wait, the request
// waits whole and takes nothing, so a test never holds part of what it
// needs while it waits for the rest.
func decideAll(req request, ms []machine) plan {
	p := plan{inUse: alive(ms)}
	ms = slices.Clone(ms)
	for i := range max(req.n, 1) {
		d := decide(req, ms)
		switch d.action {
		case actWait:
			return plan{inUse: p.inUse}
		case actReuse, actReclaim:
			for j := range ms {
				if ms[j].Name == d.use {
					ms[j].free, ms[j].shared = false, false
				}
			}
		case actCreate:
			if d.evict != "" {
				ms = slices.DeleteFunc(ms, func(m machine) bool { return m.Name == d.evict })
			}
			ms = append(ms, machine{Record: runstate.Record{
				Name: fmt.Sprintf("planned-%d", i), Key: req.key, Role: req.role, State: runstate.StateCreating,
			}})
		}
		p.steps = append(p.steps, d)
	}
	return p
}

// evictable returns a machine that no one holds and that req cannot use as
// it is: an idle pool machine (of another key, or of this key when a Fresh
// or Shared machine is wanted), or a ready shared machine. Of those, the
// one unused the longest goes first; "" when there is none.
func evictable(ms []machine, req request) string {
	ms = slices.Clone(ms)
	slices.SortStableFunc(ms, func(a, b machine) int { return a.Updated.Compare(b.Updated) })
	for _, m := range ms {
		if !m.free {
			continue
		}
		switch {
		case m.Role == runstate.RolePool && m.State == runstate.StateIdle:
			if m.Key == req.key && req.role == runstate.RolePool {
				continue // decide would have leased it
			}
		case m.Role == runstate.RoleShared && m.State == runstate.StateReady:
			if m.Key == req.key && req.role == runstate.RoleShared {
				continue
			}
		default:
			continue
		}
		return m.Name
	}
	return ""
}

func hasKey(ms []machine, key string, role runstate.Role) bool {
	for _, m := range ms {
		if m.Key == key && m.Role == role && m.State != runstate.StateKept {
			return true
		}
	}
	return false
}

// alive counts the machines that hold a place under ORBTEST_MAX_VMS:
// templates and kept machines do not.
func alive(ms []machine) int {
	n := 0
	for _, m := range ms {
		if m.Role != runstate.RoleTemplate && m.State != runstate.StateKept {
			n++
		}
	}
	return n
}

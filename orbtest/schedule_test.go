package orbtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/orbtest/go-orbtest/internal/runstate"
)

func TestDecide(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	rec := func(name, key string, role runstate.Role, state runstate.State, age int) runstate.Record {
		return runstate.Record{Name: name, Key: key, Role: role, State: state, Updated: t0.Add(-time.Duration(age) * time.Second)}
	}
	free := func(r runstate.Record) machine { return machine{Record: r, free: true, shared: true} }
	held := func(r runstate.Record) machine { return machine{Record: r} }
	sharedHeld := func(r runstate.Record) machine { return machine{Record: r, shared: true} }
	const (
		pool   = runstate.RolePool
		fresh  = runstate.RoleFresh
		shared = runstate.RoleShared
		tpl    = runstate.RoleTemplate
	)
	idle, leased, creating, ready, kept := runstate.StateIdle, runstate.StateLeased, runstate.StateCreating, runstate.StateReady, runstate.StateKept
	req := func(role runstate.Role, ahead, max int) request {
		return request{key: "k", role: role, ahead: ahead, max: max}
	}
	for _, tc := range []struct {
		name string
		req  request
		ms   []machine
		want decision
	}{
		{"empty run: create", req(pool, 0, 4), nil, decision{action: actCreate}},
		{"free idle machine of the key: reuse", req(pool, 0, 4),
			[]machine{held(rec("a", "k", pool, leased, 0)), free(rec("b", "k", pool, idle, 0))},
			decision{action: actReuse, use: "b", inUse: 2}},
		{"other keys and roles are not reused", req(pool, 0, 4),
			[]machine{free(rec("a", "other", pool, idle, 0)), free(rec("b", "k", fresh, idle, 0)), free(rec("c", "k", shared, ready, 0))},
			decision{action: actCreate, inUse: 3}},
		{"kept machines neither count nor get reused", req(pool, 0, 1),
			[]machine{held(rec("a", "k", pool, kept, 0)), held(rec("t", "k", tpl, ready, 0))},
			decision{action: actCreate}},
		{"a dead holder's machine is reclaimed", req(pool, 0, 4),
			[]machine{free(rec("a", "k", pool, leased, 0))},
			decision{action: actReclaim, use: "a", inUse: 1}},
		{"a free machine goes to the test that waited longer; this one creates", req(pool, 1, 4),
			[]machine{free(rec("a", "k", pool, idle, 0))},
			decision{action: actCreate, inUse: 1}},
		{"at the cap, the free machine is for the test ahead: wait", req(pool, 1, 1),
			[]machine{free(rec("a", "k", pool, idle, 0))},
			decision{action: actWait, inUse: 1}},
		{"the second free machine is ours when one test is ahead", req(pool, 1, 4),
			[]machine{free(rec("a", "k", pool, idle, 0)), free(rec("b", "k", pool, idle, 0))},
			decision{action: actReuse, use: "b", inUse: 2}},
		{"room to create goes to the test ahead too", req(pool, 1, 4),
			nil, decision{action: actWait}},
		{"at the cap with nothing to evict: wait", req(pool, 0, 2),
			[]machine{held(rec("a", "k", pool, leased, 0)), held(rec("b", "x", pool, idle, 0))},
			decision{action: actWait, inUse: 2}},
		{"at the cap: evict the idle machine unused longest", req(pool, 0, 3),
			[]machine{free(rec("new", "x", pool, idle, 1)), free(rec("old", "y", pool, idle, 9)), held(rec("busy", "k", pool, leased, 20))},
			decision{action: actCreate, evict: "old", inUse: 3}},
		{"fresh never reuses, and evicts an idle pool machine of its own key", req(fresh, 0, 1),
			[]machine{free(rec("a", "k", pool, idle, 0))},
			decision{action: actCreate, evict: "a", inUse: 1}},
		{"shared ready machine is shared even when others hold it", req(shared, 0, 1),
			[]machine{sharedHeld(rec("s", "k", shared, ready, 0))},
			decision{action: actReuse, use: "s", inUse: 1}},
		{"shared machine being repaired: wait for it", req(shared, 0, 4),
			[]machine{held(rec("s", "k", shared, ready, 0))},
			decision{action: actWait, inUse: 1}},
		{"shared machine another test creates: wait", req(shared, 0, 4),
			[]machine{held(rec("s", "k", shared, creating, 0))},
			decision{action: actWait, inUse: 1}},
		{"a shared machine of another key no one holds is evictable", req(pool, 0, 1),
			[]machine{free(rec("s", "x", shared, ready, 0))},
			decision{action: actCreate, evict: "s", inUse: 1}},
		{"a shared machine of the key is not evicted for a shared request", req(shared, 0, 1),
			[]machine{held(rec("s", "k", shared, creating, 0))},
			decision{action: actWait, inUse: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, decide(tc.req, tc.ms))
		})
	}
}

func TestDecideAll(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	rec := func(name, key string, state runstate.State, age int) runstate.Record {
		return runstate.Record{Name: name, Key: key, Role: runstate.RolePool, State: state, Updated: t0.Add(-time.Duration(age) * time.Second)}
	}
	free := func(r runstate.Record) machine { return machine{Record: r, free: true, shared: true} }
	held := func(r runstate.Record) machine { return machine{Record: r} }
	idle, leased := runstate.StateIdle, runstate.StateLeased
	req := func(n, ahead, max int) request {
		return request{key: "k", role: runstate.RolePool, n: n, ahead: ahead, max: max}
	}
	reuse := func(name string, inUse int) decision { return decision{action: actReuse, use: name, inUse: inUse} }
	create := func(evict string, inUse int) decision { return decision{action: actCreate, evict: evict, inUse: inUse} }
	for _, tc := range []struct {
		name string
		req  request
		ms   []machine
		want plan
	}{
		{"n of 0 is one machine", req(0, 0, 4), nil, plan{steps: []decision{create("", 0)}}},
		{"empty run: create all three", req(3, 0, 4), nil,
			plan{steps: []decision{create("", 0), create("", 1), create("", 2)}}},
		{"three at a cap of three fit exactly", req(3, 0, 3), nil,
			plan{steps: []decision{create("", 0), create("", 1), create("", 2)}}},
		{"reuse the free machines first, then create", req(3, 0, 4),
			[]machine{free(rec("a", "k", idle, 0)), held(rec("b", "k", leased, 0)), free(rec("c", "k", idle, 0))},
			plan{steps: []decision{reuse("a", 3), reuse("c", 3), create("", 3)}, inUse: 3}},
		{"two wanted, room for one: take nothing and wait", req(2, 0, 2),
			[]machine{held(rec("a", "k", leased, 0))},
			plan{inUse: 1}},
		{"two wanted, one free and no room: wait holding nothing", req(2, 0, 1),
			[]machine{free(rec("a", "k", idle, 0))},
			plan{inUse: 1}},
		{"at the cap, evict idle machines of other keys, oldest first", req(2, 0, 3),
			[]machine{free(rec("x", "other", idle, 5)), free(rec("y", "other", idle, 9)), held(rec("a", "k", leased, 0))},
			plan{steps: []decision{create("y", 3), create("x", 3)}, inUse: 3}},
		{"the machines of a test ahead are skipped; the request waits for room", req(2, 1, 2),
			[]machine{free(rec("a", "k", idle, 0)), free(rec("b", "k", idle, 0))},
			plan{inUse: 2}},
		{"a test ahead wanting two leaves the third free machine, but no room for a fourth", req(2, 2, 3),
			[]machine{free(rec("a", "k", idle, 0)), free(rec("b", "k", idle, 0)), free(rec("c", "k", idle, 0))},
			plan{inUse: 3}},
		{"a test ahead wanting two leaves the third free machine and room for one", req(2, 2, 4),
			[]machine{free(rec("a", "k", idle, 0)), free(rec("b", "k", idle, 0)), free(rec("c", "k", idle, 0))},
			plan{steps: []decision{reuse("c", 3), create("", 3)}, inUse: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, decideAll(tc.req, tc.ms))
		})
	}
}

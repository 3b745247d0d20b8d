package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// Run statuses.
const (
	runAlive   = "alive"   // the run's owner process lives
	runDead    = "dead"    // the run's owner is gone
	runUnknown = "unknown" // the state directory has no readable record of the run
)

// Lease states of a machine.
const (
	leaseHeld  = "held"  // a live process holds the machine's lease lock
	leaseStale = "stale" // the record says leased or creating, but no process holds the lock
	leaseFree  = "-"     // not leased
)

// backendMissing is the backend state of a machine that has a record but
// does not exist on the backend.
const backendMissing = "missing"

// inventory is what ls shows and gc acts on: the orbtest machines of one
// backend, with what the state directory says about them, by run.
type inventory struct {
	Backend  string     `json:"backend"`
	StateDir string     `json:"state_dir"`
	Runs     []*runView `json:"runs"`
}

// runView is one run: its status from run.json and its machines.
type runView struct {
	ID       string         `json:"id"`
	Status   string         `json:"status"`
	Reaper   bool           `json:"reaper"` // the run's reaper process holds its lock
	Backend  string         `json:"backend,omitempty"`
	OwnerPID int            `json:"owner_pid,omitempty"`
	Created  time.Time      `json:"created,omitzero"`
	Machines []*machineView `json:"machines"`

	run *runstate.Run // nil when the state directory has no such run
}

// machineView is one machine: on the backend, in the records, or both.
type machineView struct {
	Name       string    `json:"name"`
	Role       string    `json:"role,omitempty"`  // from the record; empty without one
	State      string    `json:"state,omitempty"` // from the record
	Lease      string    `json:"lease"`
	Backend    string    `json:"backend_state"` // running, stopped, ... or missing
	Created    time.Time `json:"created,omitzero"`
	AgeSeconds int64     `json:"age_seconds,omitempty"`
}

func (m *machineView) onBackend() bool { return m.Backend != backendMissing }
func (m *machineView) kept() bool      { return m.State == string(runstate.StateKept) }

// age is how old the machine is at now, or 0 when unknown.
func (m *machineView) age(now time.Time) time.Duration {
	if m.Created.IsZero() {
		return 0
	}
	return now.Sub(m.Created)
}

// collect lists the orbtest machines on d and joins them with the runs and
// records under stateDir. Runs recorded for another backend are left out
// unless some of their machines are on d.
func collect(ctx context.Context, d backend.Driver, stateDir string, now time.Time) (*inventory, error) {
	ms, err := d.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	runs, err := runstate.Runs(stateDir)
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	inv := &inventory{Backend: d.Name(), StateDir: stateDir, Runs: []*runView{}}
	byID := map[string]*runView{}
	records := map[string]map[string]runstate.Record{} // run -> name -> record
	for _, r := range runs {
		rv, recs, err := readRun(r)
		if err != nil {
			return nil, err
		}
		byID[r.ID], records[r.ID] = rv, recs
	}
	for _, m := range ms {
		if !naming.IsOrbtest(m.Name) {
			continue
		}
		id := naming.RunOf(m.Name)
		rv := byID[id]
		if rv == nil {
			rv = &runView{ID: id, Status: runUnknown, Machines: []*machineView{}}
			byID[id] = rv
		}
		mv := &machineView{Name: m.Name, Backend: string(m.State), Created: m.Created, Lease: leaseFree}
		if rec, ok := records[id][m.Name]; ok {
			fromRecord(mv, rv.run, rec)
			delete(records[id], m.Name)
		}
		rv.Machines = append(rv.Machines, mv)
	}
	for id, rv := range byID {
		if rv.run != nil && rv.Backend != "" && rv.Backend != d.Name() {
			if len(rv.Machines) == 0 {
				delete(byID, id)
			}
			continue
		}
		for _, rec := range records[id] {
			mv := &machineView{Name: rec.Name, Backend: backendMissing, Lease: leaseFree}
			fromRecord(mv, rv.run, rec)
			rv.Machines = append(rv.Machines, mv)
		}
	}
	for _, rv := range byID {
		for _, mv := range rv.Machines {
			if a := mv.age(now); a > 0 {
				mv.AgeSeconds = int64(a / time.Second)
			}
		}
		sort.Slice(rv.Machines, func(i, j int) bool { return rv.Machines[i].Name < rv.Machines[j].Name })
		inv.Runs = append(inv.Runs, rv)
	}
	sort.Slice(inv.Runs, func(i, j int) bool { return inv.Runs[i].ID < inv.Runs[j].ID })
	return inv, nil
}

// readRun reads a run's run.json, reaper lock and records.
func readRun(r *runstate.Run) (*runView, map[string]runstate.Record, error) {
	rv := &runView{ID: r.ID, Status: runUnknown, run: r, Machines: []*machineView{}}
	if info, err := r.Info(); err == nil {
		rv.Backend, rv.OwnerPID, rv.Created = info.Backend, info.OwnerPID, info.Created
		rv.Status = runDead
		if runstate.Alive(info.OwnerPID, info.OwnerStart) {
			rv.Status = runAlive
		}
	}
	rv.Reaper = heldIfExists(r.ReaperLock())
	recs, err := r.Records()
	if err != nil {
		return nil, nil, fmt.Errorf("run %s: records: %w", r.ID, err)
	}
	byName := make(map[string]runstate.Record, len(recs))
	for _, rec := range recs {
		byName[rec.Name] = rec
	}
	return rv, byName, nil
}

// fromRecord fills in what the record of mv says.
func fromRecord(mv *machineView, r *runstate.Run, rec runstate.Record) {
	mv.Role, mv.State = string(rec.Role), string(rec.State)
	if !rec.Created.IsZero() {
		mv.Created = rec.Created
	}
	switch {
	case heldIfExists(r.LeasePath(rec.Name)):
		mv.Lease = leaseHeld
	case rec.State == runstate.StateLeased || rec.State == runstate.StateCreating:
		mv.Lease = leaseStale
	}
}

// heldIfExists reports whether someone holds a lock on path, without
// creating the file when it does not exist: ls and doctor change nothing.
func heldIfExists(path string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	return runstate.Held(path)
}

// Package runstate keeps the state that the processes of one orbtest run
// share: which machines exist, which are leased, and whether the run is
// still alive. It lives in files under a state directory, guarded by flock,
// so `go test ./...`'s package processes, a reaper that outlives them and
// the orbtest command all see the same thing.
//
// Layout:
//
//	STATE/runs/RUN/run.json           who owns the run, which backend it uses
//	STATE/runs/RUN/run.lock           guards the records (short critical sections)
//	STATE/runs/RUN/reaper.lock        held by the run's reaper while it lives
//	STATE/runs/RUN/leases.log         one line per lease event
//	STATE/runs/RUN/machines/NAME.json a machine's record
//	STATE/runs/RUN/machines/NAME.lock held by the process leasing the machine
package runstate

import (
	"github.com/orbtest/go-orbtest/internal/env"

	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Dir returns the state directory: ORBTEST_STATE_DIR when set, else
// orbtest under the user's cache directory, else under the temp directory.
func Dir() string {
	if d := env.Get(env.StateDir); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "orbtest")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("orbtest-%d", os.Getuid()))
}

// RunInfo is a run's run.json.
type RunInfo struct {
	ID         string    `json:"id"`
	OwnerPID   int       `json:"owner_pid"`
	OwnerStart string    `json:"owner_start"`
	Backend    string    `json:"backend"`
	Remote     string    `json:"remote,omitempty"`
	Created    time.Time `json:"created"`
}

// Run is one run's directory.
type Run struct {
	ID  string
	Dir string
}

// OpenRun opens the run id under stateDir, creating its directory and
// writing info as its run.json when it has none yet.
func OpenRun(stateDir, id string, info RunInfo) (*Run, error) {
	r := &Run{ID: id, Dir: RunDir(stateDir, id)}
	if err := Private(stateDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(r.Dir, "machines"), 0o700); err != nil {
		return nil, fmt.Errorf("orbtest: state directory: %w", err)
	}
	err := r.WithLock(func(*Tx) error {
		if _, err := os.Stat(r.path("run.json")); err == nil {
			return nil
		}
		info.ID = id
		if info.Created.IsZero() {
			info.Created = time.Now()
		}
		return writeJSON(r.path("run.json"), info)
	})
	return r, err
}

// RunDir is the directory of run id under stateDir.
func RunDir(stateDir, id string) string { return filepath.Join(stateDir, "runs", id) }

// Runs lists the runs under stateDir.
func Runs(stateDir string) ([]*Run, error) {
	ents, err := os.ReadDir(filepath.Join(stateDir, "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var runs []*Run
	for _, e := range ents {
		if e.IsDir() {
			runs = append(runs, &Run{ID: e.Name(), Dir: filepath.Join(stateDir, "runs", e.Name())})
		}
	}
	return runs, nil
}

func (r *Run) path(elem ...string) string { return filepath.Join(append([]string{r.Dir}, elem...)...) }

// Info reads run.json.
func (r *Run) Info() (RunInfo, error) {
	var info RunInfo
	err := readJSON(r.path("run.json"), &info)
	return info, err
}

// Alive reports whether the run's owner process still runs. A run without
// a readable run.json counts as alive, so nothing is deleted on a guess.
func (r *Run) Alive() bool {
	info, err := r.Info()
	if err != nil {
		return true
	}
	return Alive(info.OwnerPID, info.OwnerStart)
}

// ReaperLock is the lock a run's reaper holds while it lives.
func (r *Run) ReaperLock() string { return r.path("reaper.lock") }

// ReaperLog is where the run's reaper writes.
func (r *Run) ReaperLog() string { return r.path("reaper.log") }

// LeasePath is the lock file a process holds while it leases machine name.
func (r *Run) LeasePath(name string) string { return r.path("machines", name+".lock") }

// TemplatePath is the lock file held while the template for key is built.
func (r *Run) TemplatePath(key string) string { return r.path("template-" + key + ".lock") }

// SlotPath is the lock file of create slot i.
func (r *Run) SlotPath(i int) string { return r.path(fmt.Sprintf("create-slot-%d.lock", i)) }

// Remove deletes the run's directory.
func (r *Run) Remove() error { return os.RemoveAll(r.Dir) }

// Role says what a machine is for.
type Role string

// Machine roles.
const (
	RoleTemplate Role = "template" // provisioned once per spec; pool machines are cloned from it
	RolePool     Role = "pool"     // leased to one test at a time and reset between tests
	RoleFresh    Role = "fresh"    // leased to one test, then deleted
	RoleShared   Role = "shared"   // used by many read-only tests at once, never reset
)

// State is where a machine is in its life.
type State string

// Machine states.
const (
	StateCreating State = "creating" // being created by the holder of its lease lock
	StateIdle     State = "idle"     // clean and free to lease
	StateLeased   State = "leased"   // held by a test (the lease lock says whether its process lives)
	StateReady    State = "ready"    // a template or shared machine that is ready
	StateKept     State = "kept"     // kept for debugging (ORBTEST_KEEP); never reused
)

// Record is one machine's record.
type Record struct {
	Name    string    `json:"name"`
	Key     string    `json:"key"`  // pool key: backend and spec fingerprint
	Spec    string    `json:"spec"` // for people
	Role    Role      `json:"role"`
	State   State     `json:"state"`
	Addr    string    `json:"addr,omitempty"` // where the host reaches it, as of its last boot
	From    string    `json:"from,omitempty"` // the template (or cache entry) it was cloned from
	PID     int       `json:"pid,omitempty"`  // last process that changed the record
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Tx gives access to the records while the run lock is held.
type Tx struct{ r *Run }

// WithLock runs fn holding the run lock. Keep fn short: every process of
// the run waits on it.
func (r *Run) WithLock(fn func(*Tx) error) error {
	l, err := lockBlocking(r.path("run.lock"))
	if err != nil {
		return fmt.Errorf("orbtest: lock run state: %w", err)
	}
	defer l.Unlock()
	return fn(&Tx{r})
}

// Records returns every machine record, sorted by name.
func (tx *Tx) Records() ([]Record, error) { return tx.r.records() }

// Records reads the records without the lock, for display.
func (r *Run) Records() ([]Record, error) { return r.records() }

func (r *Run) records() ([]Record, error) {
	paths, err := filepath.Glob(r.path("machines", "*.json"))
	if err != nil {
		return nil, err
	}
	recs := make([]Record, 0, len(paths))
	for _, p := range paths {
		var rec Record
		if err := readJSON(p, &rec); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		recs = append(recs, rec)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	return recs, nil
}

// Put writes rec.
func (tx *Tx) Put(rec Record) error {
	rec.PID = os.Getpid()
	rec.Updated = time.Now()
	if rec.Created.IsZero() {
		rec.Created = rec.Updated
	}
	return writeJSON(tx.r.path("machines", rec.Name+".json"), rec)
}

// Remove deletes the record of machine name.
func (tx *Tx) Remove(name string) error {
	err := os.Remove(tx.r.path("machines", name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Log appends one lease event ("acquire", "release", ...) to leases.log.
// Each line is one write to a file opened for append, so lines from
// concurrent processes never interleave.
func (r *Run) Log(event, name string) {
	f, err := os.OpenFile(r.path("leases.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%d %s %s %d\n", time.Now().UnixNano(), event, name, os.Getpid())
}

// LogPath is the lease log's path.
func (r *Run) LogPath() string { return r.path("leases.log") }

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp" + fmt.Sprint(os.Getpid())
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

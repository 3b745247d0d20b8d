package fakeorbctl

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Record is OrbStack's ContainerRecord, as "list -f json" prints it and as
// record.json stores it.
type Record struct {
	ID      string        `json:"id"`
	Name    string        `json:"name"`
	Image   ImageSpec     `json:"image"`
	Config  MachineConfig `json:"config"`
	Builtin bool          `json:"builtin"`
	State   string        `json:"state"`
}

// ImageSpec is the image a machine was made from; Distro is the image name
// ("archlinux"), not the CLI distro ("arch").
type ImageSpec struct {
	Distro  string `json:"distro"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Variant string `json:"variant"`
}

// MachineConfig is the record's config object.
type MachineConfig struct {
	Isolated        bool   `json:"isolated"`
	DefaultUsername string `json:"default_username"`
}

// meta is what the fake keeps about a machine besides its record.
type meta struct {
	Seq       int       `json:"seq"`
	Created   time.Time `json:"created"`
	CloudInit bool      `json:"cloud_init,omitempty"`
	CPUs      int       `json:"cpus,omitempty"`
	Memory    string    `json:"memory,omitempty"`
	Disk      string    `json:"disk,omitempty"`
}

// Call is one line of calls.log.
type Call struct {
	Argv      []string  `json:"argv"`
	EnvOrbenv string    `json:"env_orbenv"`
	Time      time.Time `json:"time"`
}

// Machine states (OrbStack's CLI reference, ../shared/reference/orbctl.md
// §2.1).
const (
	stateCreating = "creating"
	stateStarting = "starting"
	stateRunning  = "running"
	stateStopped  = "stopped"
)

// store is the state directory.
type store struct{ dir string }

func (s *store) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

func (s *store) machineDir(name string) string { return s.path("machines", name) }
func (s *store) rootDir(name string) string    { return s.path("machines", name, "root") }

func (s *store) init() error {
	for _, d := range []string{"machines", "trash"} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// lock takes the state directory's flock; the returned func releases it.
// A process must not call lock while holding it.
func (s *store) lock() (func(), error) {
	f, err := os.OpenFile(s.path("lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := flock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil // closing the descriptor drops the flock
}

// withLock runs fn under the lock.
func (s *store) withLock(fn func() error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// writeFileAtomic writes data through a temporary file and a rename, so
// readers without the lock (the test helpers) never see half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// marshalJSON encodes like OrbStack's cliutil.PrintJSON: two-space indent,
// HTML escaping on, trailing newline.
func marshalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func (s *store) readRecord(name string) (*Record, error) {
	var r Record
	if err := readJSON(filepath.Join(s.machineDir(name), "record.json"), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (s *store) writeRecord(r *Record) error {
	return writeFileAtomic(filepath.Join(s.machineDir(r.Name), "record.json"), marshalJSON(r))
}

func (s *store) readMeta(name string) meta {
	var m meta
	_ = readJSON(filepath.Join(s.machineDir(name), "meta.json"), &m)
	return m
}

func (s *store) writeMeta(name string, m meta) error {
	return writeFileAtomic(filepath.Join(s.machineDir(name), "meta.json"), marshalJSON(m))
}

// records returns every machine, sorted by name.
func (s *store) records() ([]*Record, error) {
	entries, err := os.ReadDir(s.path("machines"))
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		r, err := s.readRecord(e.Name())
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// errNotFound is the daemon's answer for an unknown ID or name.
func errNotFound(key string) error {
	return rpcErr(fmt.Sprintf("machine not found: '%s'", key))
}

// rpcErr formats a daemon-side error as jrpc2 prints it.
func rpcErr(msg string) error { return errors.New("[-32098] " + msg) }

// byID finds a machine by ID.
func (s *store) byID(id string) (*Record, error) {
	rs, err := s.records()
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, os.ErrNotExist
}

// byKey resolves an ID or a name, ID first, as OrbStack resolves the
// ID/NAME argument of its commands (CLI reference §1.2).
func (s *store) byKey(key string) (*Record, error) {
	if key == "" {
		return nil, errNotFound(key)
	}
	if r, err := s.byID(key); err == nil {
		return r, nil
	}
	if strings.ContainsAny(key, "/\\") || key == "." || key == ".." {
		return nil, errNotFound(key)
	}
	r, err := s.readRecord(key)
	if err != nil {
		return nil, errNotFound(key)
	}
	return r, nil
}

// setState rewrites a machine's state; leaving "running" empties /tmp, which
// does not survive a stop in OrbStack (CLI reference §1.10), and entering
// it is a new boot, with a new boot id.
func (s *store) setState(r *Record, state string) error {
	if state == stateStopped && r.State != stateStopped {
		s.endSessions(r.Name)
		clearDir(filepath.Join(s.rootDir(r.Name), "tmp"))
	}
	if state == stateRunning && r.State != stateRunning {
		if err := s.newBoot(r.Name); err != nil {
			return err
		}
	}
	r.State = state
	return s.writeRecord(r)
}

// bootIDPath is where Linux says which boot a machine is on.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

// newBoot writes a new random boot id, in the form Linux prints one, to
// the machine's root/proc/sys/kernel/random/boot_id.
func (s *store) newBoot(name string) error {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := fmt.Sprintf("%x-%x-%x-%x-%x\n", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	p := filepath.Join(s.rootDir(name), filepath.FromSlash(bootIDPath))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(p, []byte(id))
}

func clearDir(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// counters are persistent integers (fault budgets, creation sequence).
func (s *store) counters() map[string]int {
	c := map[string]int{}
	_ = readJSON(s.path("counters.json"), &c)
	return c
}

func (s *store) writeCounters(c map[string]int) error {
	return writeFileAtomic(s.path("counters.json"), marshalJSON(c))
}

// take consumes one unit of the fault budget named key if fewer than limit
// were consumed so far; it must be called under the lock.
func (s *store) take(key string, limit int) (bool, error) {
	if limit <= 0 {
		return false, nil
	}
	c := s.counters()
	if c[key] >= limit {
		return false, nil
	}
	c[key]++
	return true, s.writeCounters(c)
}

// nextSeq returns the next creation sequence number (under the lock).
func (s *store) nextSeq() (int, error) {
	c := s.counters()
	c["seq"]++
	return c["seq"], s.writeCounters(c)
}

// vmStatus is OrbStack's own state: the vmstatus file if a command set it,
// else $FAKEORBCTL_STATUS, else running.
func (s *store) vmStatus() string {
	if b, err := os.ReadFile(s.path("vmstatus")); err == nil {
		return strings.TrimSpace(string(b))
	}
	switch st := os.Getenv(EnvStatus); st {
	case "stopped", "starting":
		return st
	}
	return "running"
}

func (s *store) setVMStatus(st string) error {
	return writeFileAtomic(s.path("vmstatus"), []byte(st+"\n"))
}

// defaultID is the ID of the default machine ("" if none was set).
func (s *store) defaultID() string {
	b, _ := os.ReadFile(s.path("default"))
	return strings.TrimSpace(string(b))
}

func (s *store) setDefaultID(id string) error {
	if id == "" {
		err := os.Remove(s.path("default"))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return writeFileAtomic(s.path("default"), []byte(id+"\n"))
}

// defaultMachine is GetDefaultContainer: the default machine if it still
// exists, else the most recently created one.
func (s *store) defaultMachine() (*Record, error) {
	rs, err := s.records()
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, rpcErr("no machines found")
	}
	id := s.defaultID()
	var last *Record
	lastSeq := -1
	for _, r := range rs {
		if r.ID == id {
			return r, nil
		}
		if m := s.readMeta(r.Name); m.Seq > lastSeq {
			last, lastSeq = r, m.Seq
		}
	}
	return last, nil
}

// logCall appends one line to calls.log (under the lock).
func (s *store) logCall(args []string) error {
	if args == nil {
		args = []string{}
	}
	line, err := json.Marshal(Call{Argv: args, EnvOrbenv: os.Getenv("ORBENV"), Time: time.Now()})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(s.path("calls.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeMachine moves a machine directory out of machines/ (under the lock)
// and returns a func that deletes it (to call after unlocking, so a large
// tree does not hold the lock).
func (s *store) removeMachine(r *Record) (func(), error) {
	s.endSessions(r.Name)
	trash := s.path("trash", r.Name+"-"+r.ID+"-"+newULID())
	if err := os.Rename(s.machineDir(r.Name), trash); err != nil {
		return nil, err
	}
	return func() { os.RemoveAll(trash) }, nil
}

// sessionsDir holds a file per session that `run` started in machine name,
// named by its id (the pid of its leader).
func (s *store) sessionsDir(name string) string { return s.path("machines", name, "sessions") }

// endSessions kills every session run started in machine name: a machine
// that stops or is deleted runs nothing any more.
func (s *store) endSessions(name string) {
	entries, _ := os.ReadDir(s.sessionsDir(name))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 1 {
			killSession(pid)
		}
		_ = os.Remove(filepath.Join(s.sessionsDir(name), e.Name()))
	}
}

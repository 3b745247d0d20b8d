package runstate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The queue keeps waiting for a machine fair across the processes of a
// run: a test that waits holds a ticket, and a machine that becomes free
// goes to the oldest ticket for its key, whichever process holds it.
// Without it a process hands its machines to its own waiters, which are
// woken at once, and the other processes' waiters, which poll, starve.
//
// A ticket is a file in the run's "queue" directory named by the time it
// was taken, held under an flock: a ticket whose process died is no
// longer held and counts for nothing.

// Ticket is a place in the run's queue for machines of one key. It is
// owned by one waiter; Leave must be called when the waiting ends.
type Ticket struct {
	name string
	lock *Lock
	path string
}

var ticketSeq atomic.Uint64

// Join takes a ticket for n machines of key at the back of the queue.
func (tx *Tx) Join(key string, n int) (*Ticket, error) {
	dir := tx.r.path("queue")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%020d-%d-%d~%d~%s", time.Now().UnixNano(), os.Getpid(), ticketSeq.Add(1), max(n, 1), key)
	path := filepath.Join(dir, name)
	// Taken under the run lock, so no one judges the file before it is
	// locked.
	lk, err := TryLock(path)
	if err != nil || lk == nil {
		return nil, fmt.Errorf("orbtest: take a place in the queue: %v", err)
	}
	return &Ticket{name: name, lock: lk, path: path}, nil
}

// Leave gives the ticket up. It is safe to call on a nil Ticket and twice.
func (t *Ticket) Leave() {
	if t == nil || t.lock == nil {
		return
	}
	_ = os.Remove(t.path)
	_ = t.lock.Unlock()
	t.lock = nil
}

// Ahead returns how many machines the live tickets for key taken before t
// (all of them when t is nil) wait for. Tickets whose holders died are
// removed.
func (tx *Tx) Ahead(key string, t *Ticket) (int, error) {
	dir := tx.r.path("queue")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	n := 0
	for _, name := range names {
		if t != nil && name >= t.name {
			break
		}
		want, k, ok := ticketKey(name)
		if !ok || k != key {
			continue
		}
		path := filepath.Join(dir, name)
		if !Held(path) {
			_ = os.Remove(path)
			continue
		}
		n += want
	}
	return n, nil
}

// ticketKey reads a ticket's name, TIME-PID-SEQ~N~KEY: the machines it
// waits for and its key. A name without N waits for one.
func ticketKey(name string) (n int, key string, ok bool) {
	f := strings.Split(name, "~")
	switch len(f) {
	case 2:
		return 1, f[1], true
	case 3:
		n, err := strconv.Atoi(f[1])
		return n, f[2], err == nil && n > 0
	}
	return 0, "", false
}

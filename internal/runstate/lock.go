package runstate

import (
	"context"
	"os"
	"time"
)

// Lock is an flock held on a file. Locks are per open file, so two Locks
// on one path exclude each other within one process too. The kernel drops
// a lock when its process dies, however it dies: that is what makes leases
// crash-safe.
type Lock struct {
	f *os.File
}

func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

// TryLock takes an exclusive lock on path without waiting. It returns nil
// and no error when another holder has it.
func TryLock(path string) (*Lock, error) { return tryLock(path, true) }

// TryShared takes a shared lock on path without waiting.
func TryShared(path string) (*Lock, error) { return tryLock(path, false) }

func tryLock(path string, exclusive bool) (*Lock, error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	ok, err := lockFile(f, exclusive, false)
	if err != nil || !ok {
		f.Close()
		return nil, err
	}
	return &Lock{f: f}, nil
}

// LockWait takes an exclusive lock on path, polling until it is free or
// ctx ends.
func LockWait(ctx context.Context, path string) (*Lock, error) { return lockWait(ctx, path, true) }

// LockWaitShared takes a shared lock on path, polling until no exclusive
// holder has it or ctx ends.
func LockWaitShared(ctx context.Context, path string) (*Lock, error) {
	return lockWait(ctx, path, false)
}

func lockWait(ctx context.Context, path string, exclusive bool) (*Lock, error) {
	delay := 5 * time.Millisecond
	for {
		l, err := tryLock(path, exclusive)
		if err != nil || l != nil {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// lockBlocking takes an exclusive lock on path, waiting as long as it
// takes; for short critical sections only.
func lockBlocking(path string) (*Lock, error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := lockFile(f, true, true); err != nil {
		f.Close()
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Share turns an exclusive lock into a shared one. The kernel does not do
// it atomically: another process may take the lock exclusively in
// between, so a caller checks again what the lock guards.
func (l *Lock) Share() error {
	_, err := lockFile(l.f, false, true)
	return err
}

// Unlock releases the lock. It is safe to call on a nil Lock and twice.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	_ = unlockFile(f)
	return f.Close()
}

// Held reports whether someone holds a lock (shared or exclusive) on path.
func Held(path string) bool {
	l, err := TryLock(path)
	if err != nil || l == nil {
		return err == nil
	}
	l.Unlock()
	return false
}

// File returns the open file that holds the lock, to hand the lock to a
// child process (exec.Cmd.ExtraFiles): flock locks belong to the open
// file, so the child holds it too, and keeps it once this process has
// closed its copy with [Lock.Close].
func (l *Lock) File() *os.File { return l.f }

// Close closes this process's copy of the lock's file without unlocking
// it: the lock stays with whoever else has the file open, such as a child
// it was handed to, and goes when they close it or die.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	return f.Close()
}

// LockOf wraps f, an open file holding an flock (handed over by a parent
// process), as a Lock.
func LockOf(f *os.File) *Lock { return &Lock{f: f} }

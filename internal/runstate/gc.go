package runstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/naming"
)

// DeleteRun deletes every machine of run that is not kept (found both in
// the run's records and by name on the backend), then the run's records;
// records of kept machines no longer on the backend go too.
// It returns how many machines it deleted. It is what the reaper and
// `orbtest gc` do for a run that has ended.
func DeleteRun(ctx context.Context, d backend.Driver, run *Run) (int, error) {
	recs, err := run.Records()
	if err != nil {
		return 0, err
	}
	kept := map[string]bool{}
	names := map[string]bool{}
	for _, r := range recs {
		if r.State == StateKept {
			kept[r.Name] = true
		} else {
			names[r.Name] = true
		}
	}
	ms, err := d.List(ctx)
	if err != nil {
		return 0, err
	}
	present := map[string]bool{}
	for _, m := range ms {
		present[m.Name] = true
		if naming.RunOf(m.Name) == run.ID && !kept[m.Name] {
			names[m.Name] = true
		}
	}
	// A kept machine someone has since deleted needs no record.
	var gone []string
	for name := range kept {
		if !present[name] {
			delete(kept, name)
			gone = append(gone, name)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	deleted := make(chan string, len(names))
	for name := range names {
		g.Go(func() error {
			err := backend.Retry(gctx, func(ctx context.Context) error { return d.Delete(ctx, name) })
			switch {
			case err == nil:
				deleted <- name
			case !errors.Is(err, backend.ErrNotFound):
				return fmt.Errorf("delete %s: %w", name, err)
			}
			return nil
		})
	}
	err = g.Wait()
	close(deleted)
	n := len(deleted)
	if err != nil {
		return n, err
	}
	if len(kept) > 0 {
		return n, run.WithLock(func(tx *Tx) error {
			for name := range names {
				gone = append(gone, name)
			}
			for _, name := range gone {
				if err := tx.Remove(name); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return n, run.Remove()
}

// Sweep deletes the machines of ended runs that no reaper looks after:
// runs under stateDir whose owner is dead and whose reaper is gone, made on
// d's backend at remote (the Incus remote; "" for local). Runs it knows
// nothing of, and runs made elsewhere, are left alone; `orbtest gc -all`
// deletes those.
func Sweep(ctx context.Context, d backend.Driver, remote, stateDir, current string) {
	runs, err := Runs(stateDir)
	if err != nil {
		return
	}
	for _, r := range runs {
		if r.ID == current || r.Alive() || Held(r.ReaperLock()) {
			continue
		}
		info, err := r.Info()
		if err != nil || info.Backend != d.Name() || info.Remote != remote {
			continue
		}
		_, _ = DeleteRun(ctx, d, r)
	}
}

// ReapedLog is the file under stateDir where reapers note each run they
// ended, one line per run, the latest last; it is kept to a few hundred
// lines.
func ReapedLog(stateDir string) string { return filepath.Join(stateDir, "reaped.log") }

const reapedLogMax = 64 << 10

// LogReaped appends line to stateDir's ReapedLog, first dropping the older
// half of the file when it has grown past 64 KiB.
func LogReaped(stateDir, line string) {
	path := ReapedLog(stateDir)
	lk, err := lockBlocking(path + ".lock")
	if err != nil {
		return
	}
	defer lk.Unlock()
	if b, err := os.ReadFile(path); err == nil && len(b) > reapedLogMax {
		b = b[len(b)/2:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
		_ = os.WriteFile(path, b, 0o600)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), line)
}

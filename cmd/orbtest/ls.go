package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/orbtest/go-orbtest/internal/runstate"
)

const lsHelp = `
List the orbtest machines (names starting "orbtest-") on the selected
backend, by run, joined with what the state directory records about them:

  RUN            the run ID in the machine's name ("?" when it has none)
  RUN STATUS     alive (its owner process lives), dead, or unknown (no
                 run.json)
  ROLE           template, pool, fresh or shared ("-": no record)
  RECORD STATE   the record's state: creating, idle, leased, ready or kept
  LEASE          held (a live process holds the lease lock), stale
                 (recorded as leased or creating, but nobody holds the
                 lock) or "-"
  MACHINE STATE  the machine's state on the backend (running, stopped,
                 ...), or missing when only the record exists
  AGE            since the record (or else the backend) says it was created

The template cache's entries are not runs' machines: orbtest cache ls
lists them.

A run with no machines is shown once, with MACHINE "-".
`

func runLs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ls", "ls [-json]", lsHelp, stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	d, err := selectDriver(ctx)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFail
	}
	inv, err := collect(ctx, d, runstate.Dir(), time.Now())
	if err != nil {
		errorf(stderr, "ls: %v", err)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(inv); err != nil {
			errorf(stderr, "ls: %v", err)
			return exitFail
		}
		return exitOK
	}
	printTable(stdout, inv, time.Now())
	return exitOK
}

// printTable prints inv as tab-aligned text, one line per machine.
func printTable(w io.Writer, inv *inventory, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tRUN STATUS\tMACHINE\tROLE\tRECORD STATE\tLEASE\tMACHINE STATE\tAGE")
	for _, rv := range inv.Runs {
		id := cmp.Or(rv.ID, "?")
		if len(rv.Machines) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t%s\n", id, rv.Status, fmtAge(rv.Created, now))
			continue
		}
		for _, m := range rv.Machines {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				id, rv.Status, m.Name, cmp.Or(m.Role, "-"), cmp.Or(m.State, "-"), m.Lease, m.Backend, fmtAge(m.Created, now))
		}
	}
	tw.Flush()
}

// fmtAge formats the time since t briefly: 45s, 12m, 3h5m, 2d4h; "-" when
// t is unknown.
func fmtAge(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/orbtest/go-orbtest/internal/runstate"
)

const cacheHelp = `
The template cache: provisioned templates that runs keep, keyed by their
content, so that later runs clone from them instead of provisioning again.

  orbtest cache ls [-json]
      list the entries: spec, backend, image, size, created, last used,
      hits (processes that cloned from the entry)
  orbtest cache prune [-all] [-older-than DURATION] [-dry-run]
      delete entries: with -all every one; with -older-than those unused
      for longer; always the half-built ones a dead builder left. An entry
      a live process builds or clones from is left alone.

Runs prune the entries unused for ORBTEST_CACHE_MAX_AGE and those beyond
ORBTEST_CACHE_MAX_ENTRIES when they start; orbtest gc never touches the
cache.
`

func runCache(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fs := newFlags("cache", "cache ls|prune [flags]", cacheHelp, stderr)
		if len(args) == 0 {
			errorf(stderr, "cache: say ls or prune")
			fs.Usage()
			return exitUsage
		}
		fs.SetOutput(stdout)
		fs.Usage()
		return exitOK
	}
	switch args[0] {
	case "ls":
		return cacheLs(args[1:], stdout, stderr)
	case "prune":
		return cachePrune(ctx, args[1:], stdout, stderr)
	}
	errorf(stderr, "cache: unknown subcommand %q: use ls or prune", args[0])
	return exitUsage
}

func cacheLs(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cache ls", "cache ls [-json]", cacheHelp, stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	var es []runstate.Entry
	if c := runstate.ReadCache(runstate.Dir()); c != nil {
		var err error
		if es, err = c.Entries(); err != nil {
			errorf(stderr, "cache ls: %v", err)
			return exitFail
		}
	}
	if es == nil {
		es = []runstate.Entry{}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(es); err != nil {
			errorf(stderr, "cache ls: %v", err)
			return exitFail
		}
		return exitOK
	}
	printCache(stdout, es, time.Now())
	return exitOK
}

// printCache prints es as a table, one line per entry.
func printCache(w io.Writer, es []runstate.Entry, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTRY\tSPEC\tBACKEND\tIMAGE\tSIZE\tCREATED\tLAST USED\tHITS\tSEALED")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s ago\t%s ago\t%d\t%t\n",
			e.Name, e.Spec, e.Backend, shortImage(e.Image), fmtBytes(e.SizeBytes), fmtAge(e.Created, now), fmtAge(e.LastUsed, now), e.Hits, e.Sealed)
	}
	tw.Flush()
	var total int64
	for _, e := range es {
		total += e.SizeBytes
	}
	fmt.Fprintf(w, "%s, %s\n", count(len(es), "entry"), fmtBytes(total))
}

// shortImage keeps a fingerprint short enough for a table.
func shortImage(id string) string {
	if len(id) > 19 && id[:7] == "sha256:" {
		return id[:19]
	}
	return id
}

// fmtBytes formats n bytes as 12.3 MB; "-" when unknown (0).
func fmtBytes(n int64) string {
	switch {
	case n <= 0:
		return "-"
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

func cachePrune(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cache prune", "cache prune [-all] [-older-than DURATION] [-dry-run]", cacheHelp, stderr)
	all := fs.Bool("all", false, "delete every entry")
	older := fs.Duration("older-than", 0, "delete the entries unused for longer than this (e.g. 72h)")
	dry := fs.Bool("dry-run", false, "print what would be deleted, delete nothing")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if *older < 0 {
		errorf(stderr, "cache prune: -older-than must not be negative")
		fs.Usage()
		return exitUsage
	}
	c := runstate.ReadCache(runstate.Dir())
	if c == nil {
		fmt.Fprintln(stdout, "nothing to delete (no template cache)")
		return exitOK
	}
	d, err := selectDriver(ctx)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFail
	}
	es, err := c.Entries()
	if err != nil {
		errorf(stderr, "cache prune: %v", err)
		return exitFail
	}
	plan := runstate.SelectPrune(es, runstate.PruneRule{Now: time.Now(), All: *all, UnusedFor: *older})
	done, err := runstate.PruneCache(ctx, d, c, plan, *dry)
	code, n := exitOK, 0
	for _, p := range done {
		switch {
		case p.Err != nil:
			errorf(stderr, "cache prune: %s: %v", p.Name, p.Err)
			code = exitFail
		case p.Busy:
			fmt.Fprintf(stdout, "left %s (%s): a live process builds or clones from it\n", p.Name, p.Why)
		case *dry:
			n++
			fmt.Fprintf(stdout, "would delete %s (%s)\n", p.Name, p.Why)
		default:
			n++
			fmt.Fprintf(stdout, "deleted %s (%s)\n", p.Name, p.Why)
		}
	}
	if err != nil {
		errorf(stderr, "cache prune: %v", err)
		code = exitFail
	}
	switch {
	case n == 0:
		fmt.Fprintln(stdout, "nothing to delete")
	case *dry:
		fmt.Fprintf(stdout, "would delete %s\n", count(n, "entry"))
	default:
		fmt.Fprintf(stdout, "deleted %s\n", count(n, "entry"))
	}
	return code
}

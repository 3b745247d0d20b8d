package main

import (
	"github.com/orbtest/go-orbtest/internal/env"

	"context"
	"fmt"
	"os"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
	"github.com/orbtest/go-orbtest/internal/incus"
	"github.com/orbtest/go-orbtest/internal/orbctl"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// defaultImage is the image alias of orbtest's default spec on Incus.
const defaultImage = "debian/bookworm"

// binary returns the path of the backend's command-line tool.
func binary(name string) (string, error) {
	if name == "incus" {
		return incus.Find()
	}
	return orbctl.Find()
}

// checkImage says whether the default image is at hand, and warns when it
// is not. OrbStack keeps no image cache: it downloads on every create.
func checkImage(ctx context.Context, name string) (line, warning string) {
	if name != "incus" {
		return "no local cache: OrbStack downloads the image on every create", ""
	}
	ok, err := incusHasImage(ctx, defaultImage)
	switch {
	case err != nil:
		return "cannot list images: " + err.Error(), ""
	case ok:
		return defaultImage + " present locally", ""
	}
	return defaultImage + " not found locally",
		fmt.Sprintf("creates of %s will download it from the image server (needs network); run scripts/setup-incus.sh to build it locally", defaultImage)
}

// incusHasImage runs "incus image list" on ORBTEST_INCUS_REMOTE's remote
// and reports whether a container image has alias.
func incusHasImage(ctx context.Context, alias string) (bool, error) {
	path, err := incus.Find()
	if err != nil {
		return false, err
	}
	args, err := incus.Builder{Remote: env.Get(env.IncusRemote)}.ImageList()
	if err != nil {
		return false, err
	}
	res, err := cli.Run(ctx, backend.OpQuery, cmdrun.Cmd{Args: append([]string{path}, args...)})
	if err != nil {
		return false, err
	}
	imgs, err := incus.ParseImages(res.Stdout)
	if err != nil {
		return false, err
	}
	return incus.SelectLocalImage(imgs, incus.ImageQuery{Alias: alias}) != "", nil
}

// checkState reports the state directory: where it is, whether orbtest can
// write to it, and the runs and machine records it holds.
func (r *report) checkState() {
	dir := runstate.Dir()
	fi, err := os.Stat(dir)
	switch {
	case os.IsNotExist(err):
		r.add("state dir", dir+" (not created yet; orbtest creates it on first use)")
		return
	case err != nil:
		r.add("state dir", dir+": "+err.Error())
		r.problems = append(r.problems, "set ORBTEST_STATE_DIR to a writable directory")
		return
	case !fi.IsDir():
		r.add("state dir", dir+": not a directory")
		r.problems = append(r.problems, "set ORBTEST_STATE_DIR to a writable directory")
		return
	}
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		r.add("state dir", dir+": not writable: "+err.Error())
		r.problems = append(r.problems, "set ORBTEST_STATE_DIR to a writable directory")
		return
	}
	f.Close()
	os.Remove(f.Name())
	runs, err := runstate.Runs(dir)
	if err != nil {
		r.add("state dir", dir+": "+err.Error())
		return
	}
	n := map[string]int{}
	records := 0
	for _, run := range runs {
		rv, recs, err := readRun(run)
		if err != nil {
			n[runUnknown]++
			continue
		}
		n[rv.Status]++
		if rv.Status == runDead && !rv.Reaper {
			n["collectable"]++
		}
		records += len(recs)
	}
	r.add("state dir", fmt.Sprintf("%s (%s: %d alive, %d dead, %d unknown; %s)",
		dir, count(len(runs), "run"), n[runAlive], n[runDead], n[runUnknown], count(records, "machine record")))
	if c := n["collectable"]; c > 0 {
		r.hints = append(r.hints, fmt.Sprintf("%s without a reaper: orbtest gc deletes their machines", count(c, "dead run")))
	}
	r.checkCache(dir)
}

// checkCache reports the template cache's entries and their size.
func (r *report) checkCache(dir string) {
	c := runstate.ReadCache(dir)
	if c == nil {
		r.add("cache", "empty (ORBTEST_CACHE="+cacheSetting()+")")
		return
	}
	es, err := c.Entries()
	if err != nil {
		r.add("cache", err.Error())
		return
	}
	var size int64
	half := 0
	for _, e := range es {
		size += e.SizeBytes
		if !e.Sealed {
			half++
		}
	}
	line := fmt.Sprintf("%s, %s on the backend (ORBTEST_CACHE=%s; orbtest cache ls)", count(len(es), "entry"), fmtBytes(size), cacheSetting())
	if half > 0 {
		line += fmt.Sprintf("; %d not sealed (being built, or left by a builder that died: orbtest cache prune)", half)
	}
	r.add("cache", line)
}

// cacheSetting is ORBTEST_CACHE as the library reads it.
func cacheSetting() string {
	if v := env.Lower(env.Cache); v != "" {
		return v
	}
	return "on"
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// line returns the table line of machine name, split into columns.
func line(t *testing.T, out, name string) []string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[2] == name {
			return f
		}
	}
	t.Fatalf("no line for %s in:\n%s", name, out)
	return nil
}

func TestLsTable(t *testing.T) {
	f, state := setup(t)
	scene(t, f, state, true)
	code, out, stderr := orbtest(t, "ls")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(out, "RUN ") || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "LEASE") {
		t.Errorf("no header:\n%s", out)
	}
	want := map[string][]string{ // RUN STATUS MACHINE ROLE STATE LEASE BACKEND
		deadPool:   {"deadrun", "dead", deadPool, "pool", "idle", "-", "running"},
		deadTmpl:   {"deadrun", "dead", deadTmpl, "template", "ready", "-", "running"},
		deadKept:   {"deadrun", "dead", deadKept, "fresh", "kept", "-", "running"},
		livePool:   {"liverun", "alive", livePool, "pool", "leased", "held", "running"},
		liveFresh:  {"liverun", "alive", liveFresh, "fresh", "leased", "stale", "running"},
		liveShared: {"liverun", "alive", liveShared, "shared", "ready", "-", "running"},
		orphan:     {"norun", "unknown", orphan, "-", "-", "-", "running"},
	}
	for name, w := range want {
		got := line(t, out, name)
		if strings.Join(got[:7], " ") != strings.Join(w, " ") {
			t.Errorf("%s: got %q, want %q", name, got[:7], w)
		}
		if len(got) != 8 || !strings.HasSuffix(got[7], "s") && !strings.HasSuffix(got[7], "m") {
			t.Errorf("%s: age column %q", name, got[7:])
		}
	}
	if strings.Contains(out, devbox) {
		t.Errorf("ls shows a machine that is not orbtest's:\n%s", out)
	}
	// Grouped by run: every deadrun line before every liverun line.
	if strings.LastIndex(out, "deadrun") > strings.Index(out, "liverun") {
		t.Errorf("not grouped by run:\n%s", out)
	}
}

func TestLsStoppedAndMissing(t *testing.T) {
	f, state := setup(t)
	create(t, f, "debian:bookworm", deadPool)
	if out, err := f.Command("stop", deadPool).CombinedOutput(); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	writeRun(t, state, "deadrun", deadPID(t), "",
		rec(deadPool, "pool", "idle"),
		rec(deadTmpl, "template", "creating"), // crashed while creating: no machine
	)
	writeRun(t, state, "emptyrun", deadPID(t), "")
	_, out, _ := orbtest(t, "ls")
	if got := line(t, out, deadPool); got[6] != "stopped" {
		t.Errorf("backend state %q, want stopped", got[6])
	}
	if got := line(t, out, deadTmpl); got[5] != "stale" || got[6] != "missing" {
		t.Errorf("lease %q backend %q, want stale missing", got[5], got[6])
	}
	if !strings.Contains(out, "emptyrun  dead") {
		t.Errorf("a run without machines is not shown:\n%s", out)
	}
}

func TestLsJSON(t *testing.T) {
	f, state := setup(t)
	scene(t, f, state, false)
	code, out, _ := orbtest(t, "ls", "-json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var inv inventory
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if inv.Backend != "orbstack" || inv.StateDir != state {
		t.Errorf("backend %q state dir %q", inv.Backend, inv.StateDir)
	}
	status := map[string]string{}
	machines := map[string]*machineView{}
	for _, rv := range inv.Runs {
		status[rv.ID] = rv.Status
		for _, m := range rv.Machines {
			machines[m.Name] = m
		}
	}
	if status["deadrun"] != "dead" || status["liverun"] != "alive" || status["norun"] != "unknown" {
		t.Errorf("statuses %v", status)
	}
	if len(machines) != 6 {
		t.Errorf("machines %v, want 6", machines)
	}
	if m := machines[livePool]; m == nil || m.Role != "pool" || m.Lease != "held" || m.Backend != "running" || m.Created.IsZero() {
		t.Errorf("%s: %+v", livePool, m)
	}
	if m := machines[orphan]; m == nil || m.Role != "" || m.Created.IsZero() {
		t.Errorf("%s: %+v (want no role, the backend's creation time)", orphan, m)
	}
}

func TestLsEmpty(t *testing.T) {
	f, _ := setup(t)
	create(t, f, "ubuntu", devbox)
	code, out, _ := orbtest(t, "ls")
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("exit %d, want only the header:\n%s", code, out)
	}
	_, out, _ = orbtest(t, "ls", "-json")
	if !strings.Contains(out, `"runs": []`) {
		t.Errorf("json:\n%s", out)
	}
}

package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backends"
	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
)

func TestDoctorOrbStack(t *testing.T) {
	f, state := setup(t)
	scene(t, f, state, false)
	code, out, stderr := orbtest(t, "doctor")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		"backend:    orbstack (ORBTEST_BACKEND=orbstack)",
		"binary:     " + f.Bin,
		"version:    2.2.3",
		"status:     running",
		"features:   clone, isolated, limits, cloud-init; missing: snapshot",
		"image:      no local cache",
		"state dir:  " + state + " (2 runs: 1 alive, 1 dead, 0 unknown; 5 machine records)",
		"env:        ORBTEST_BACKEND=orbstack",
		"ORBTEST_ORBCTL=" + f.Bin,
		"hint:       1 dead run without a reaper: orbtest gc",
		"verdict:    ok: orbtest can run machines on orbstack 2.2.3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !strings.HasSuffix(out, "2.2.3\n") {
		t.Errorf("the verdict is not the last line")
	}
}

func TestDoctorOldOrbStack(t *testing.T) {
	setup(t, fakeorbctl.WithEnv(fakeorbctl.EnvVersion, "1.9.0"))
	code, out, _ := orbtest(t, "doctor")
	if code != 0 || !strings.Contains(out, "version:    1.9.0") || !strings.Contains(out, "missing: ") {
		t.Errorf("exit %d", code)
	}
}

func TestDoctorNoOrbctl(t *testing.T) {
	setup(t)
	t.Setenv("ORBTEST_ORBCTL", "/nonexistent/orbctl")
	code, out, _ := orbtest(t, "doctor")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"backend:    orbstack", "status:     unavailable: ", "/nonexistent/orbctl", "verdict:    not usable: install OrbStack", "ORBTEST_ORBCTL"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestDoctorOrbStackStopped(t *testing.T) {
	setup(t, fakeorbctl.WithEnv(fakeorbctl.EnvStatus, "stopped"))
	code, out, _ := orbtest(t, "doctor")
	if code != 1 || !strings.Contains(out, "orbctl start") || !strings.Contains(out, "verdict:    not usable") {
		t.Errorf("exit %d", code)
	}
}

func TestDoctorBadBackend(t *testing.T) {
	setup(t)
	t.Setenv("ORBTEST_BACKEND", "vmware")
	code, out, _ := orbtest(t, "doctor")
	if code != 1 || !strings.Contains(out, "set ORBTEST_BACKEND to orbstack, incus or auto") {
		t.Errorf("exit %d", code)
	}
}

func TestDoctorStateDirNotWritable(t *testing.T) {
	_, state := setup(t)
	file := state + "/file"
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORBTEST_STATE_DIR", file)
	code, out, _ := orbtest(t, "doctor")
	if code != 1 || !strings.Contains(out, "not a directory") || !strings.Contains(out, "ORBTEST_STATE_DIR") {
		t.Errorf("exit %d", code)
	}
}

// TestDoctorLiveIncus runs doctor against the real Incus when it is the
// backend auto selects here.
func TestDoctorLiveIncus(t *testing.T) {
	if v := os.Getenv("ORBTEST_BACKEND"); v != "" {
		t.Skipf("ORBTEST_BACKEND=%s: the live test checks auto selection", v)
	}
	if _, err := exec.LookPath("incus"); err != nil {
		t.Skip("incus is not in PATH")
	}
	if _, err := exec.LookPath("orbctl"); err == nil {
		t.Skip("orbctl is in PATH: auto would select OrbStack")
	}
	if _, err := backends.Incus(t.Context()); err != nil {
		if os.Getenv("ORBTEST_REQUIRE") == "1" {
			t.Fatalf("ORBTEST_REQUIRE=1 and incus is installed but unusable: %v", err)
		}
		t.Skipf("incus is installed but unusable: %v", err)
	}
	clearOrbtestEnv(t)
	t.Setenv("ORBTEST_STATE_DIR", t.TempDir())
	code, out, _ := orbtest(t, "doctor")
	if code != 0 || !strings.Contains(out, "backend:    incus") || !strings.Contains(out, "verdict:    ok: orbtest can run machines on incus") {
		t.Errorf("exit %d", code)
	}
}

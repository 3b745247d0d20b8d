package fakeorbctl

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCreateDelay(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv(EnvCreateDelay, "400ms"))
	start := time.Now()
	done := make(chan result, 1)
	go func() { done <- run(t, f, "", "create", "debian", "slow") }()
	if !f.WaitMachine("slow", "creating", 5*time.Second) {
		t.Fatal("machine never seen in state creating")
	}
	if out := ok(t, f, "list", "-f", "json"); !strings.Contains(out, `"state": "creating"`) {
		t.Errorf("list during create: %s", out)
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("create took %v, want >= 400ms", d)
	}
	if state(t, f, "slow") != "running" {
		t.Errorf("state %s", state(t, f, "slow"))
	}
}

func TestCreateFail(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv(EnvCreateFail, "2"))
	// Invalid input is not a transient failure and does not use the budget.
	wantErr(t, f, 1, "invalid machine name", "create", "debian", "x")
	for i := 0; i < 2; i++ {
		r := wantErr(t, f, 1, "", "create", "debian", "flaky")
		if r.stderr != "[-32098] create 'flaky': setup: machine didn't start in 30s (missing IP address)\n" {
			t.Errorf("attempt %d: stderr %q", i, r.stderr)
		}
		if len(f.Machines()) != 0 {
			t.Fatalf("failed create left %v", f.Machines())
		}
	}
	ok(t, f, "create", "debian", "flaky")
	ok(t, f, "create", "debian", "fine")
	if got := f.Machines(); len(got) != 2 {
		t.Errorf("machines %v", got)
	}
}

func TestCreateHang(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv(EnvCreateHang, "1"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := f.CommandContext(ctx, "create", "debian", "stuck")
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if !f.WaitMachine("stuck", "running", 5*time.Second) {
		t.Fatal("the hanging create never made its machine")
	}
	select {
	case err := <-exited:
		t.Fatalf("create exited (%v) instead of hanging; stderr %q", err, stderr.String())
	case <-time.After(300 * time.Millisecond):
	}
	// The machine is usable while create hangs; a retry sees "already exists".
	ok(t, f, "run", "-m", "stuck", "true")
	wantErr(t, f, 1, "[-32098] create 'stuck': machine already exists: 'stuck'", "create", "debian", "stuck")
	cancel()
	<-exited
	ok(t, f, "create", "debian", "second") // budget used up: returns normally
}

func TestRunFail(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv(EnvRunFail, "2"))
	ok(t, f, "create", "debian", "m1")
	ok(t, f, "create", "debian", "m2")
	for _, m := range []string{"m1", "m2"} {
		for i := 0; i < 2; i++ {
			r := run(t, f, "", "run", "-m", m, "true")
			if r.code != 1 || r.stderr != "\n[-32098] dial: connection refused\n" {
				t.Errorf("%s attempt %d: %+v", m, i, r)
			}
		}
		ok(t, f, "run", "-m", m, "true")
	}
}

func TestDeleteFail(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv(EnvDeleteFail, "1"))
	ok(t, f, "create", "debian", "m1")
	r := wantErr(t, f, 1, "", "delete", "-f", "m1")
	if r.stderr != "[-32098] delete 'm1': remove rootfs: device or resource busy\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	if state(t, f, "m1") != "stopped" {
		t.Errorf("after failed delete: %s", state(t, f, "m1"))
	}
	ok(t, f, "delete", "-f", "m1")
	if len(f.Machines()) != 0 {
		t.Errorf("left %v", f.Machines())
	}
}

func TestStartDelay(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian", "m1")
	ok(t, f, "stop", "m1")
	f.Set(EnvStartDelay, "300ms")
	done := make(chan result, 1)
	go func() { done <- run(t, f, "", "start", "m1") }()
	if !f.WaitMachine("m1", "starting", 5*time.Second) {
		t.Fatal("never saw state starting")
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if state(t, f, "m1") != "running" {
		t.Errorf("state %s", state(t, f, "m1"))
	}
}

func TestBadFaultValues(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv(EnvCreateFail, "many"))
	wantErr(t, f, 1, EnvCreateFail, "create", "debian", "m1")
	f.Set(EnvCreateFail, "")
	f.Set(EnvCreateDelay, "soon")
	wantErr(t, f, 1, EnvCreateDelay, "create", "debian", "m1")
}

func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	const n = 20
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = run(t, f, "", "create", "debian", fmt.Sprintf("par-%02d", i))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("create %d: %+v", i, r)
		}
	}
	if got := f.Machines(); len(got) != n {
		t.Errorf("%d machines: %v", len(got), got)
	}
	ids := map[string]bool{}
	for _, name := range f.Machines() {
		r, _ := f.Machine(name)
		ids[r.ID] = true
	}
	if len(ids) != n {
		t.Errorf("IDs not unique: %d distinct", len(ids))
	}
	if c := f.CountCalls("create"); c != n {
		t.Errorf("call log has %d creates (lines lost or torn?)", c)
	}
	out := ok(t, f, "list", "-q")
	if strings.Count(out, "\n") != n {
		t.Errorf("list -q: %q", out)
	}
}

func TestConcurrentSameName(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv(EnvCreateDelay, "200ms"))
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = run(t, f, "", "create", "debian", "same")
		}()
	}
	wg.Wait()
	okCount, exists := 0, 0
	for _, r := range results {
		switch {
		case r.code == 0:
			okCount++
		case r.code == 1 && r.stderr == "[-32098] create 'same': machine already exists: 'same'\n":
			exists++
		default:
			t.Errorf("unexpected result %+v", r)
		}
	}
	if okCount != 1 || exists != 1 {
		t.Errorf("%d succeeded, %d already exists; want 1 and 1", okCount, exists)
	}
	if state(t, f, "same") != "running" {
		t.Errorf("state %s", state(t, f, "same"))
	}
}

func TestCreateHangEndsWithStateDir(t *testing.T) {
	t.Parallel()
	f := newFake(t, WithEnv(EnvCreateHang, "1"))
	cmd := f.Command("create", "debian", "stuck")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if !f.WaitMachine("stuck", "running", 5*time.Second) {
		cmd.Process.Kill()
		t.Fatal("the hanging create never made its machine")
	}
	// The create may still be writing its files: remove until it is gone.
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err = os.RemoveAll(f.Dir); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("hanging create outlived its state directory")
	}
}

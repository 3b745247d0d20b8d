package orbctl

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/exectest"
)

// TestFakeExec runs the driver tests of package exectest against the fake
// orbctl, whose killed clients leave their commands running as OrbStack's
// do: cancel, streaming, complete output, and a missing directory.
func TestFakeExec(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("skipping test: counting a machine's processes needs /proc")
	}
	_, d := newFake(t)
	const name = "orbtest-x1"
	if err := d.Create(context.Background(), name, backend.Spec{Distro: "debian", Version: "bookworm"}); err != nil {
		t.Fatal(err)
	}
	t.Run("cancel", func(t *testing.T) { exectest.Cancel(t, d, name) })
	if testing.Short() {
		return
	}
	t.Run("streaming", func(t *testing.T) { exectest.Streaming(t, d, name) })
	t.Run("stress", func(t *testing.T) {
		if got := exectest.Stress(t, d, name, 200); got != 200 {
			t.Errorf("%d of 200 commands checked", got)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		code, err := d.Exec(t.Context(), name, backend.ExecRequest{Argv: []string{"true"}, Dir: "/nope"})
		if code != -1 || !errors.Is(err, backend.ErrInvalid) {
			t.Errorf("Exec in /nope = %d, %v; want an invalid-input error", code, err)
		}
	})
}

package incus

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/exectest"
)

// stressN is how many commands TestLiveExec's stress runs:
// go test ./internal/incus -run TestLiveExec/stress -args -stress=20000.
var stressN = flag.Int("stress", 2000, "commands the live exec stress test runs")

// TestLiveExec runs the driver tests of package exectest in one container:
// cancel, streaming, and the stress of complete output.
func TestLiveExec(t *testing.T) {
	d := liveDriver(t)
	name := liveName(t, d)
	require.NoError(t, d.Create(liveCtx(t), name, debian("")))
	t.Run("cancel", func(t *testing.T) { exectest.Cancel(t, d, name) })
	t.Run("streaming", func(t *testing.T) { exectest.Streaming(t, d, name) })
	t.Run("stress", func(t *testing.T) {
		if got := exectest.Stress(t, d, name, *stressN); got != *stressN {
			t.Errorf("%d of %d commands checked", got, *stressN)
		}
	})
}

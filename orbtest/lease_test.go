package orbtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLeaseVMReusesAfterReleaseAndDeletesOnDiscard(t *testing.T) {
	d := newCloningDriver()
	run := sharedRun(t, d)
	ctx := context.Background()
	spec := Debian("bookworm")

	vm1, release1, err := LeaseVM(ctx, spec, run)
	require.NoError(t, err)
	require.NoError(t, release1(ctx, false))
	vm2, release2, err := LeaseVM(ctx, spec, run)
	require.NoError(t, err)
	assert.Equal(t, vm1.Name(), vm2.Name(), "a released machine is reset and leased again")
	assert.Equal(t, 1, d.Calls("restore"))

	require.NoError(t, release2(ctx, true))
	assert.NotContains(t, d.Names(), vm2.Name(), "a discarded machine is deleted")

	_, _, err = LeaseVM(ctx, Debian(""), run)
	assert.ErrorContains(t, err, `distro "debian" has no version`)
	_, _, err = LeaseVM(ctx, spec, Shared(), run)
	assert.ErrorContains(t, err, "Shared")
}

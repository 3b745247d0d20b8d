package orbtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
	"github.com/orbtest/go-orbtest/internal/orbctl"
)

func TestGoTestReportsGuestTestsOnTheFakeOrbctl(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: builds a test binary")
	}
	f := fakeorbctl.New(t)
	f.Setenv(t)
	d, err := orbctl.Open(t.Context(), f.Bin)
	require.NoError(t, err)
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)
	t.Cleanup(func() { _ = vm.Delete(context.WithoutCancel(t.Context())) })

	pass := newFakeTB()
	pass.run(func(tb testing.TB) { GoTest(tb, vm, "./testdata/guestpkg", "-test.run=^TestOK$") })
	assert.False(t, pass.Failed(), pass.log())
	assert.Contains(t, pass.log(), "=== RUN   TestOK")
	assert.Contains(t, pass.log(), "ok in the guest")
	assert.Contains(t, pass.log(), "--- PASS: TestOK")

	fail := newFakeTB()
	fail.run(func(tb testing.TB) { GoTest(tb, vm, "./testdata/guestpkg") })
	assert.True(t, fail.Failed())
	assert.Contains(t, fail.log(), "guest says no")
	assert.Contains(t, fail.log(), "--- FAIL: TestBad")
	assert.Contains(t, fail.log(), "1 guest test(s) failed in machine "+vm.Name()+": TestBad")

	bad := newFakeTB()
	bad.run(func(tb testing.TB) { GoTest(tb, vm, "./testdata/nosuchpkg") })
	assert.True(t, bad.Failed())
	assert.Contains(t, bad.log(), "orbtest: GoTest ./testdata/nosuchpkg: go list")
}

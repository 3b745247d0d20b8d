package orbtest

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRuleArgs(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		reason  string
		op      string
		family  int
		to      netip.Prefix
		want    string
		wantErr string
	}{
		{"one IPv4 peer", "add", 4, p("10.200.77.12/32"), "ip -4 rule add to 10.200.77.12/32 prohibit priority 1000", ""},
		{"one IPv6 peer", "del", 6, p("fd00::5/128"), "ip -6 rule del to fd00::5/128 prohibit priority 1000", ""},
		{"everything but loopback, IPv4", "add", 4, netip.Prefix{}, "ip -4 rule add not to 127.0.0.0/8 prohibit priority 1000", ""},
		{"everything but loopback, IPv6", "add", 6, netip.Prefix{}, "ip -6 rule add not to ::1/128 prohibit priority 1000", ""},
		{"family and prefix disagree", "add", 6, p("10.0.0.1/32"), "", "is not of family 6"},
		{"unknown family", "add", 5, netip.Prefix{}, "", "want 4 or 6"},
		{"unknown operation", "flush", 4, netip.Prefix{}, "", `rule operation "flush"`},
	} {
		got, err := ruleArgs(tc.op, tc.family, tc.to)
		if tc.wantErr != "" {
			assert.ErrorContains(t, err, tc.wantErr, tc.reason)
			continue
		}
		require.NoError(t, err, tc.reason)
		assert.Equal(t, tc.want, strings.Join(got, " "), tc.reason)
	}
}

// ipCalls records the ip commands machines run, per machine.
func ipCalls(d *memDriver) func() map[string][]string {
	var mu sync.Mutex
	calls := map[string][]string{}
	d.exec = func(m *memMachine, argv []string) (int, string, string) {
		if argv[0] == "ip" {
			mu.Lock()
			calls[m.name] = append(calls[m.name], strings.Join(argv, " "))
			mu.Unlock()
		}
		return 0, "", ""
	}
	return func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string][]string{}
		for k, v := range calls {
			out[k] = append([]string(nil), v...)
		}
		return out
	}
}

func TestPartitionCutsBothSidesAndHealUndoesIt(t *testing.T) {
	d := newMemDriver()
	calls := ipCalls(d)
	a, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)
	b, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)

	require.NoError(t, a.Partition(t.Context(), b))
	cutA := "ip -4 rule add to 127.0.0.1/32 prohibit priority 1000" // the in-memory machines' address
	assert.Equal(t, map[string][]string{a.Name(): {cutA}, b.Name(): {cutA}}, calls(), "each side forbids sending to the other")

	require.NoError(t, a.Heal(t.Context()))
	del := "ip -4 rule del to 127.0.0.1/32 prohibit priority 1000"
	assert.Equal(t, map[string][]string{a.Name(): {cutA, del}, b.Name(): {cutA, del}}, calls())
	require.NoError(t, a.Heal(t.Context()), "a second Heal has nothing to do")
	assert.Len(t, calls()[a.Name()], 2)
}

func TestPartitionFromEverything(t *testing.T) {
	d := newMemDriver()
	calls := ipCalls(d)
	a, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)
	require.NoError(t, a.Partition(t.Context()))
	assert.Equal(t, map[string][]string{a.Name(): {
		"ip -4 rule add not to 127.0.0.0/8 prohibit priority 1000",
		"ip -6 rule add not to ::1/128 prohibit priority 1000",
	}}, calls())
}

func TestPartitionErrors(t *testing.T) {
	d := newCloningDriver()
	a, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)
	assert.EqualError(t, a.Partition(t.Context(), a), fmt.Sprintf("orbtest: machine %q: partition: a machine cannot be partitioned from itself", a.Name()))

	ft := newFakeTB()
	ft.run(func(tb testing.TB) {
		s := NewVM(tb, Debian("bookworm"), testRun(t, d), Shared())
		assert.ErrorContains(t, s.Partition(t.Context()), "partition: "+s.Name()+": machine is Shared with other tests")
		assert.ErrorContains(t, a.Partition(t.Context(), s), "partition: "+s.Name()+": machine is Shared with other tests")
	})
	require.False(t, ft.Failed(), ft.log())
}

func TestHealKeepsACutItCouldNotRemove(t *testing.T) {
	d := newMemDriver()
	fail := true
	var mu sync.Mutex
	d.exec = func(m *memMachine, argv []string) (int, string, string) {
		mu.Lock()
		defer mu.Unlock()
		if argv[0] == "ip" && argv[3] == "del" {
			if fail {
				return 1, "", "Error: permission denied\n"
			}
			return 2, "", "RTNETLINK answers: No such file or directory\n" // a reboot took it
		}
		return 0, "", ""
	}
	a, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)
	require.NoError(t, a.Partition(t.Context()))
	assert.ErrorContains(t, a.Heal(t.Context()), "heal: ")
	mu.Lock()
	fail = false
	mu.Unlock()
	assert.NoError(t, a.Heal(t.Context()), "the cuts kept are tried again, and a cut already gone is no error")
	a.mu.Lock()
	assert.Empty(t, a.cuts)
	a.mu.Unlock()
}

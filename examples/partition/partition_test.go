// Package partition tests a client and a server on two machines, and what
// the client does when the network between them fails and comes back.
package partition_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

const port = 8000

// node has the client and a server, a systemd unit that serves
// /srv/www on port 8000. Both machines of the test are of this one spec,
// so NewVMs leases them together.
var node = orbtest.Debian("bookworm").
	WithFile("testdata/client.py", "/usr/local/bin/client").
	WithSetup(`set -e
chmod 755 /usr/local/bin/client
mkdir -p /srv/www && echo hello from the server >/srv/www/greeting
cat >/etc/systemd/system/www.service <<'UNIT'
[Service]
ExecStart=/usr/bin/python3 -m http.server 8000 --directory /srv/www
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable --now www`)

func TestClientRidesOutAPartition(t *testing.T) {
	t.Parallel()
	vms := orbtest.NewVMs(t, 2, node, orbtest.WithReady(orbtest.PortListening(port)))
	client, server := vms[0], vms[1]
	// Peers find each other by Hostname (NAME.incus, NAME.orb.local).
	url := fmt.Sprintf("http://%s:%d/greeting", server.Hostname(), port)

	out := client.MustRun(t, "client", url, "5")
	assert.Equal(t, "got: hello from the server\n", out)

	// Cut the two machines apart: a client with a short deadline gives up.
	require.NoError(t, client.Partition(t.Context(), server))
	res, err := client.Run(t.Context(), "client", url, "2")
	require.Error(t, err, "the client reached the server across the partition")
	assert.Equal(t, 1, res.ExitCode)
	assert.Contains(t, res.Stdout, "gave up after 2s")

	// A client with a long deadline retries through the partition and gets
	// its answer once the network heals. It runs as a transient unit so the
	// test can heal while it waits; its output goes to a file.
	client.MustExec(t, orbtest.Command("systemd-run", "--unit=client-run", "--property=StandardOutput=file:/run/client.out",
		"/usr/local/bin/client", url, "60").AsUser("root"))
	retrying := orbtest.NewCheck("client retrying", func(ctx context.Context, vm *orbtest.VM) error {
		_, err := vm.Run(ctx, "grep", "-q", "^retrying", "/run/client.out")
		return err
	})
	client.MustWaitFor(t, 30*time.Second, retrying)
	require.NoError(t, client.Heal(t.Context()))
	client.MustWaitFor(t, time.Minute, orbtest.CommandSucceeds("grep", "-q", "^got: hello from the server", "/run/client.out"))
	log := client.MustRun(t, "cat", "/run/client.out")
	assert.True(t, strings.HasPrefix(log, "retrying: "), "the client's log: %s", log)
}

package httpservice_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

const port = 8080

// kvstore is a machine with the service installed and enabled. The files
// are copied in and the setup step runs once per run, on a template that
// every machine of the spec is cloned from; the clones boot with the unit
// enabled, so systemd starts the service in each of them.
//
// Start services in setup steps with systemd, never with "cmd &": the
// template is stopped before it is cloned, which ends every process that
// systemd does not start again at boot.
var kvstore = orbtest.Debian("bookworm").
	WithFile("testdata/kvstore.py", "/usr/local/bin/kvstore").
	WithFile("testdata/kvstore.service", "/etc/systemd/system/kvstore.service").
	WithSetup("useradd --system --no-create-home --shell /usr/sbin/nologin kvstore && systemctl enable --now kvstore")

// ready holds the machine back until the service accepts connections, in
// the machine and from the host. It is checked on every lease, since a
// reused machine has just been reset and rebooted.
var ready = orbtest.WithReady(orbtest.PortListening(port), orbtest.PortReachable(port))

// client talks to the kvstore in vm from the host.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, vm *orbtest.VM) *client {
	return &client{
		t:    t,
		base: "http://" + net.JoinHostPort(vm.Address(), strconv.Itoa(port)),
		http: &http.Client{Timeout: 5 * time.Second},
	}
}

// do sends a request and returns the status code and body. It fails the
// test when there is no answer at all.
func (c *client) do(method, path, body string) (int, string) {
	c.t.Helper()
	code, b, err := c.try(method, path, body)
	require.NoError(c.t, err)
	return code, b
}

// try is do for goroutines and polling: it returns an error instead of
// failing the test, which only the test's own goroutine may do.
func (c *client) try(method, path, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestReadOnly checks what can be checked without changing anything: such
// tests can share one machine. With Shared, every Shared test of the run
// that asks for this spec gets the same machine at the same time, which is
// never reset, so after the first they cost nothing. The subtests run in
// parallel against it.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, kvstore, ready, orbtest.Shared())
	c := newClient(t, vm)

	t.Run("health", func(t *testing.T) {
		t.Parallel()
		code, body := c.do(http.MethodGet, "/healthz", "")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "ok\n", body)
	})
	t.Run("unknown key is 404", func(t *testing.T) {
		t.Parallel()
		code, _ := c.do(http.MethodGet, "/v1/keys/never-set", "")
		assert.Equal(t, http.StatusNotFound, code)
	})
	t.Run("malformed key is 400", func(t *testing.T) {
		t.Parallel()
		code, _ := c.do(http.MethodGet, "/v1/keys/Upper_Case", "")
		assert.Equal(t, http.StatusBadRequest, code)
	})
	t.Run("unit is hardened", func(t *testing.T) {
		t.Parallel()
		// The service runs as its own user, not root, and keeps its data
		// in the state directory systemd made for it.
		show := vm.MustRun(t, "systemctl", "show", "-p", "User,StateDirectory,ActiveState,UnitFileState", "kvstore")
		assert.Contains(t, show, "User=kvstore\n")
		assert.Contains(t, show, "StateDirectory=kvstore\n")
		assert.Contains(t, show, "ActiveState=active\n")
		assert.Contains(t, show, "UnitFileState=enabled\n")
		owner := vm.MustRun(t, "stat", "-c", "%U %a", "/var/lib/kvstore")
		assert.Equal(t, "kvstore 755", strings.TrimSpace(owner))
	})
}

// TestKeys changes the store, so it takes a pool machine (the default): a
// machine of its own for the test, reset to its clean snapshot afterwards
// so that the next test starts from an empty store. The subtests are
// sequential steps on that machine.
func TestKeys(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, kvstore, ready)
	c := newClient(t, vm)

	t.Run("store starts empty", func(t *testing.T) {
		code, body := c.do(http.MethodGet, "/v1/keys", "")
		require.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `[]`, body)
	})
	t.Run("put then get", func(t *testing.T) {
		code, _ := c.do(http.MethodPut, "/v1/keys/colour", "blue")
		require.Equal(t, http.StatusNoContent, code)
		code, body := c.do(http.MethodGet, "/v1/keys/colour", "")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "blue", body)
	})
	t.Run("put overwrites", func(t *testing.T) {
		c.do(http.MethodPut, "/v1/keys/colour", "green")
		_, body := c.do(http.MethodGet, "/v1/keys/colour", "")
		assert.Equal(t, "green", body)
	})
	t.Run("value is on disk", func(t *testing.T) {
		// Look behind the API: the data file in the machine holds the value.
		var data map[string]string
		require.NoError(t, json.Unmarshal([]byte(vm.MustRun(t, "cat", "/var/lib/kvstore/data.json")), &data))
		assert.Equal(t, map[string]string{"colour": "green"}, data)
	})
	t.Run("too large value is refused", func(t *testing.T) {
		code, _ := c.do(http.MethodPut, "/v1/keys/big", strings.Repeat("x", 2048))
		assert.Equal(t, http.StatusRequestEntityTooLarge, code)
		code, _ = c.do(http.MethodGet, "/v1/keys/big", "")
		assert.Equal(t, http.StatusNotFound, code)
	})
	t.Run("delete", func(t *testing.T) {
		code, _ := c.do(http.MethodDelete, "/v1/keys/colour", "")
		assert.Equal(t, http.StatusNoContent, code)
		code, _ = c.do(http.MethodGet, "/v1/keys/colour", "")
		assert.Equal(t, http.StatusNotFound, code)
		code, _ = c.do(http.MethodDelete, "/v1/keys/colour", "")
		assert.Equal(t, http.StatusNotFound, code)
	})
	t.Run("concurrent writers", func(t *testing.T) {
		// Many clients at once: every write lands, none is lost.
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				key := fmt.Sprintf("k%02d", i)
				code, _, err := c.try(http.MethodPut, "/v1/keys/"+key, strconv.Itoa(i))
				if assert.NoError(t, err, key) {
					assert.Equal(t, http.StatusNoContent, code, key)
				}
			})
		}
		wg.Wait()
		_, body := c.do(http.MethodGet, "/v1/keys", "")
		var keys []string
		require.NoError(t, json.Unmarshal([]byte(body), &keys))
		assert.Len(t, keys, n)
	})
}

// TestDataSurvivesRestart restarts the service between a write and a read.
// Restarting changes the machine, so it takes a pool machine too.
func TestDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, kvstore, ready)
	c := newClient(t, vm)

	code, _ := c.do(http.MethodPut, "/v1/keys/persisted", "yes")
	require.Equal(t, http.StatusNoContent, code)
	pid := vm.MustRun(t, "systemctl", "show", "--value", "-p", "MainPID", "kvstore")

	vm.MustExec(t, orbtest.Command("systemctl", "restart", "kvstore").AsUser("root"))
	require.NotEqual(t, pid, vm.MustRun(t, "systemctl", "show", "--value", "-p", "MainPID", "kvstore"),
		"the service must have restarted")

	// systemctl restart returns once the process started, a moment before
	// it listens: poll until it answers.
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		code, body, err := c.try(http.MethodGet, "/v1/keys/persisted", "")
		if assert.NoError(ct, err) {
			assert.Equal(ct, http.StatusOK, code)
			assert.Equal(ct, "yes", body)
		}
	}, 10*time.Second, 100*time.Millisecond)
}

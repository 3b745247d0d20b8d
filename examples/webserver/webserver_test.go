// Package webserver tests a web server installed from the distribution's
// packages in a setup step: the machine is provisioned once per run, and
// every test gets a clone in which nginx already runs.
package webserver

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

// spec installs nginx; its package enables the service, so it starts on
// every boot of every clone.
var spec = orbtest.Debian("bookworm").WithSetup("apt-get update && apt-get install -y --no-install-recommends nginx")

// ready waits until nginx accepts connections from the host.
var ready = orbtest.WithReady(orbtest.PortReachable(80))

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestServesItsWelcomePage(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, spec, ready, orbtest.Shared())
	code, body := get(t, fmt.Sprintf("http://%s/", vm.Address()))
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "Welcome to nginx")
	assert.Contains(t, vm.MustRun(t, "dpkg-query", "-W", "-f=${Status}", "nginx"), "install ok installed")
}

func TestServesAFileTheTestPuts(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, spec, ready)
	vm.MustShell(t, "echo hello from the test >/var/www/html/hello.txt")
	code, body := get(t, fmt.Sprintf("http://%s/hello.txt", vm.Address()))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "hello from the test\n", body)

	code, _ = get(t, fmt.Sprintf("http://%s/nope.txt", vm.Address()))
	assert.Equal(t, http.StatusNotFound, code)
}

func TestServesANewSiteAfterAReload(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, spec, ready)
	vm.MustShell(t, `printf 'server { listen 8080; return 200 "reloaded\n"; }\n' >/etc/nginx/conf.d/orbtest.conf && nginx -t && systemctl reload nginx`)
	vm.MustWaitFor(t, 30*time.Second, orbtest.PortReachable(8080))
	code, body := get(t, fmt.Sprintf("http://%s:8080/", vm.Address()))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "reloaded\n", body)
}

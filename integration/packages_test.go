package integration_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

// withJQ installs a package the image lacks.
var withJQ = base.WithSetup("apt-get update && apt-get install -y --no-install-recommends jq")

func TestSetupInstallsAPackage(t *testing.T) {
	t.Parallel()
	plain := orbtest.NewVM(t, base, orbtest.Shared())
	_, err := plain.Run(t.Context(), "sh", "-c", "command -v jq")
	require.Error(t, err, "the plain image has no jq")

	vm := orbtest.NewVM(t, withJQ)
	out := vm.MustExec(t, orbtest.Command("jq", "-r", ".name").WithStdin(strings.NewReader(`{"name":"orbtest"}`)))
	assert.Equal(t, "orbtest\n", out.Stdout)
}

// onLocalIncus skips tests of this host's Incus setup (its package proxy,
// its bridge's firewall) elsewhere.
func onLocalIncus(t *testing.T, vm *orbtest.VM) {
	t.Helper()
	if vm.Backend() != "incus" || os.Getenv("ORBTEST_INCUS_REMOTE") != "" {
		t.Skip("skipping test: checks the package proxy and bridge that scripts/setup-incus.sh sets up on this host")
	}
}

// proxyRE finds the package proxy the local image points apt at.
var proxyRE = regexp.MustCompile(`Acquire::http::Proxy "(http://[^"]+)"`)

func TestPackageProxyRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared())
	onLocalIncus(t, vm)
	m := proxyRE.FindStringSubmatch(vm.MustRun(t, "cat", "/etc/apt/apt.conf.d/80orbtest"))
	require.NotNil(t, m, "the image's apt goes through the package proxy")
	proxy := m[1]

	// A name under .invalid: the proxy refuses it by its own rules, and no
	// packet leaves the host (the name cannot resolve anywhere).
	get := `import sys, urllib.request, urllib.error
o = urllib.request.build_opener(urllib.request.ProxyHandler({"http": sys.argv[1]}))
try:
    r = o.open("http://orbtest-not-a-mirror.invalid/debian/dists/bookworm/Release", timeout=10)
    print(r.status)
except urllib.error.HTTPError as e:
    print(e.code, e.reason)
`
	out := vm.MustRun(t, "python3", "-c", get, proxy)
	assert.Equal(t, "403 Forbidden file type or location\n", out, "the proxy forwards only to this host's mirrors")

	// No tunnel either: CONNECT is refused for any host and port.
	tunnel := `import sys, http.client
u = sys.argv[1].split("//")[1].rstrip("/").split(":")
c = http.client.HTTPConnection(u[0], int(u[1]), timeout=10)
c.set_tunnel("orbtest-not-a-mirror.invalid", 443)
try:
    c.connect()
    print("tunnel open")
except OSError as e:
    print("refused:", e)
`
	out = vm.MustRun(t, "python3", "-c", tunnel, proxy)
	assert.True(t, strings.HasPrefix(out, "refused:"), "CONNECT through the proxy: %s", out)

	// The mirror itself is served: the package lists are there, and a
	// package downloads through the proxy (TestSetupInstallsAPackage).
	assert.NotEmpty(t, vm.MustShell(t, "ls /var/lib/apt/lists | grep _Packages"), "the image ships package lists")
}

func TestBridgeRoutesNothingOut(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared())
	onLocalIncus(t, vm)
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Fatalf("nft not found: scripts/setup-incus.sh fences the bridge with nftables: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), nft, "list", "table", "inet", "orbtest_orbtestbr0").CombinedOutput()
	require.NoError(t, err, "nft list table: %s", out)
	rules := string(out)
	// Read, never probed: tests send nothing to an address off this host.
	assert.Contains(t, rules, `iifname "orbtestbr0" oifname != "orbtestbr0" reject`)
	assert.Contains(t, rules, `oifname "orbtestbr0" iifname != "orbtestbr0" reject`)
	nat, err := exec.CommandContext(t.Context(), cliPath("ORBTEST_INCUS", "incus"), "network", "get", "orbtestbr0", "ipv4.nat").Output()
	require.NoError(t, err)
	assert.Equal(t, "false", strings.TrimSpace(string(nat)), "no NAT off the bridge")
}

// TestPackageProxyFromTheEnvironment configures a proxy the machine never
// uses (loopback, discard port): only what orbtest writes is checked.
func TestPackageProxyFromTheEnvironment(t *testing.T) {
	const proxy = "http://127.0.0.1:9/"
	t.Setenv("ORBTEST_PACKAGE_PROXY", proxy)
	vm := orbtest.NewVM(t, base.WithSetup(`printf %s "$http_proxy" >/root/setup-saw-proxy`))
	assert.Equal(t, proxy, vm.MustRun(t, "cat", "/root/setup-saw-proxy"), "setup steps run with http_proxy")
	assert.Contains(t, vm.MustRun(t, "cat", "/etc/apt/apt.conf.d/80orbtest-proxy"), `Acquire::http::Proxy "`+proxy+`";`)
	assert.Contains(t, vm.MustRun(t, "cat", "/etc/profile.d/orbtest-proxy.sh"), "http_proxy="+proxy)
}

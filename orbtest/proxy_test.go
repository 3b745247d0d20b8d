package orbtest

import (
	"context"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckProxy(t *testing.T) {
	for proxy, ok := range map[string]bool{
		"":                        true,
		"http://10.200.77.1:3142": true,
		"http://proxy.corp:8080/": true,
		"https://proxy.corp":      true,
		"10.200.77.1:3142":        false,
		"socks5://proxy:1080":     false,
		"http://":                 false,
		"http://proxy/some/path":  false,
		"http://proxy/?x=1":       false,
	} {
		err := checkProxy(proxy)
		if ok {
			assert.NoError(t, err, proxy)
		} else {
			assert.ErrorContains(t, err, "use an http URL of the proxy", proxy)
		}
	}
}

func TestProxyScript(t *testing.T) {
	assert.Empty(t, proxyScript("debian", ""))
	for _, tt := range []struct {
		distro string
		has    []string
		hasNot []string
	}{
		{"debian", []string{"/etc/apt/apt.conf.d/80orbtest-proxy", "/etc/profile.d/orbtest-proxy.sh"}, []string{"dnf"}},
		{"ubuntu", []string{"/etc/apt/apt.conf.d/80orbtest-proxy"}, []string{"dnf"}},
		{"fedora", []string{"/etc/dnf/dnf.conf", "/etc/profile.d/orbtest-proxy.sh"}, []string{"apt"}},
		{"alpine", []string{"/etc/profile.d/orbtest-proxy.sh"}, []string{"apt", "dnf"}},
	} {
		s := proxyScript(tt.distro, "http://p:3142")
		for _, want := range tt.has {
			assert.Contains(t, s, want, tt.distro)
		}
		for _, not := range tt.hasNot {
			assert.NotContains(t, s, not, tt.distro)
		}
		assert.NotContains(t, s, "http://p:3142", "the proxy reaches the script as $1, not in its text")
	}
	assert.Equal(t, []string{"http_proxy=http://p", "https_proxy=http://p"}, proxyEnv("http://p"))
	assert.Nil(t, proxyEnv(""))
	assert.True(t, strings.HasPrefix(proxyScript("debian", "http://p"), "set -eu\n"))
}

func TestStartVMConfiguresThePackageProxy(t *testing.T) {
	t.Setenv(env.Proxy, "http://10.0.0.1:3142")
	d := newMemDriver()
	var calls [][]string
	d.exec = func(_ *memMachine, argv []string) (int, string, string) {
		calls = append(calls, argv)
		return 0, "", ""
	}
	vm, err := StartVM(t.Context(), Debian("bookworm").WithSetup("apt-get install -y jq"), withDriver(d.as()))
	require.NoError(t, err)
	defer vm.Delete(context.Background())
	proxyAt, setupAt := -1, -1
	for i, argv := range calls {
		if len(argv) == 5 && strings.Contains(argv[2], "80orbtest-proxy") {
			proxyAt = i
			assert.Equal(t, "http://10.0.0.1:3142", argv[4])
		}
		if len(argv) == 3 && argv[2] == "apt-get install -y jq" {
			setupAt = i
		}
	}
	require.GreaterOrEqual(t, proxyAt, 0, "the proxy is configured: %q", calls)
	assert.Greater(t, setupAt, proxyAt, "before the setup steps run")

	t.Setenv(env.Proxy, "proxy:3142")
	_, err = StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	assert.ErrorContains(t, err, "ORBTEST_PACKAGE_PROXY=\"proxy:3142\": use an http URL")
}

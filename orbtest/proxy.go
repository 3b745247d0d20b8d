package orbtest

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/orbtest/go-orbtest/internal/env"
)

// Package proxy.
//
// ORBTEST_PACKAGE_PROXY names an HTTP proxy for package downloads, for
// hosts whose machines reach package mirrors only through one (a CI host
// with no route out, a corporate network). orbtest configures it in every
// machine it creates, before the spec's files and setup steps: apt on
// Debian and Ubuntu, dnf on Fedora and its kin, and http_proxy for every
// login shell; setup steps also run with http_proxy set, which apk (Alpine)
// and most other tools honour.

// checkProxy reports whether proxy is usable: empty, or an http or https
// URL with a host and no path beyond "/".
func checkProxy(proxy string) error {
	if proxy == "" {
		return nil
	}
	u, err := url.Parse(proxy)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("%s=%q: use an http URL of the proxy, such as http://10.0.0.1:3142", env.Proxy, proxy)
	}
	return nil
}

// dnfDistros use dnf.
var dnfDistros = map[string]bool{"alma": true, "centos": true, "fedora": true, "openeuler": true, "oracle": true, "rocky": true}

// proxyScript returns the script, run as root, that points the package
// manager of distro at proxy; "" when proxy is empty. The proxy reaches
// the script as $1, never inside its text.
func proxyScript(distro, proxy string) string {
	if proxy == "" {
		return ""
	}
	lines := []string{
		"set -eu",
		`p="$1"`,
		`printf 'export http_proxy=%s https_proxy=%s\n' "$p" "$p" >/etc/profile.d/orbtest-proxy.sh`,
	}
	switch {
	case distro == "debian" || distro == "ubuntu" || distro == "devuan" || distro == "kali":
		lines = append(lines, `printf 'Acquire::http::Proxy "%s";\nAcquire::https::Proxy "%s";\n' "$p" "$p" >/etc/apt/apt.conf.d/80orbtest-proxy`)
	case dnfDistros[distro]:
		lines = append(lines,
			`f=/etc/dnf/dnf.conf`,
			`sed -i '/^proxy=/d' "$f"`,
			`sed -i "/^\[main\]/a proxy=$p" "$f"`)
	}
	return strings.Join(lines, "\n") + "\n"
}

// proxyEnv is the environment setup steps run with.
func proxyEnv(proxy string) []string {
	if proxy == "" {
		return nil
	}
	return []string{"http_proxy=" + proxy, "https_proxy=" + proxy}
}

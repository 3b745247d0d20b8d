package cloudinit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

// deployKey is the public key the user data authorizes; only its text
// matters here.
const deployKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yb3JidGVzdGV4YW1wbGVzb25seQ ci@example"

// userData is the cloud-config under test, as it would be handed to a
// cloud provider: an operator account, the application's configuration,
// and a command that prepares the application's directory.
//
// write_files runs before users are created, so the file owned by the new
// user's group is deferred to the final stage. Keep user data idempotent:
// on Incus' public images every clone of the spec's template is a new
// cloud-init instance that runs it again.
const userData = `#cloud-config
users:
  - name: deploy
    shell: /bin/bash
    groups: [adm]
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    lock_passwd: true
    ssh_authorized_keys:
      - ` + deployKey + `
write_files:
  - path: /etc/myapp/config.toml
    owner: root:deploy
    permissions: "0640"
    defer: true
    content: |
      listen = "0.0.0.0:9000"
      log_level = "info"
runcmd:
  - [install, -d, -o, deploy, -g, deploy, -m, "0750", /srv/myapp]
`

// provisioned is the machine the user data makes. NewVM waits for
// cloud-init to finish before it hands the machine over, and fails the
// test with cloud-init's report if it failed.
var provisioned = orbtest.Debian("bookworm").WithCloudInit(userData)

// root runs a command as root and returns its stdout. Looking into another
// account's files needs root; on Incus the default user is root anyway,
// but on OrbStack it is not.
func root(t *testing.T, vm *orbtest.VM, name string, args ...string) string {
	t.Helper()
	return vm.MustExec(t, orbtest.Command(name, args...).AsUser("root")).Stdout
}

// TestProvisioned inspects what cloud-init did. Nothing here changes the
// machine, so all of it runs on the spec's Shared machine, in parallel.
func TestProvisioned(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, provisioned, orbtest.Shared())

	t.Run("cloud-init finished cleanly", func(t *testing.T) {
		t.Parallel()
		out := vm.MustRun(t, "cloud-init", "status", "--long")
		assert.Contains(t, out, "status: done")
		// Modules that failed are listed in result.json even when the
		// overall status is done.
		assert.JSONEq(t, `[]`, vm.MustShell(t, "python3 -c 'import json; print(json.dumps(json.load(open(\"/run/cloud-init/result.json\"))[\"v1\"][\"errors\"]))'"))
	})

	t.Run("deploy user", func(t *testing.T) {
		t.Parallel()
		entry := strings.Split(strings.TrimSpace(vm.MustRun(t, "getent", "passwd", "deploy")), ":")
		require.Len(t, entry, 7)
		assert.Equal(t, "/home/deploy", entry[5], "home")
		assert.Equal(t, "/bin/bash", entry[6], "shell")
		assert.Contains(t, strings.Fields(vm.MustRun(t, "id", "-nG", "deploy")), "adm")

		// The password is locked: the account is reached by key only.
		status := strings.Fields(root(t, vm, "passwd", "-S", "deploy"))
		require.GreaterOrEqual(t, len(status), 2)
		assert.Equal(t, "L", status[1], "password status")
	})

	t.Run("deploy key", func(t *testing.T) {
		t.Parallel()
		keys := "/home/deploy/.ssh/authorized_keys"
		assert.Equal(t, deployKey+"\n", root(t, vm, "cat", keys))
		// sshd ignores keys that others can write.
		assert.Equal(t, "deploy 600\n", root(t, vm, "stat", "-c", "%U %a", keys))
		assert.Equal(t, "deploy 700\n", root(t, vm, "stat", "-c", "%U %a", "/home/deploy/.ssh"))
	})

	t.Run("deploy has passwordless sudo", func(t *testing.T) {
		t.Parallel()
		// sudo -n fails instead of prompting when a password is needed.
		out := vm.MustExec(t, orbtest.Command("sudo", "-n", "id", "-u").AsUser("deploy")).Stdout
		assert.Equal(t, "0\n", out)
	})

	t.Run("config readable by deploy only", func(t *testing.T) {
		t.Parallel()
		const conf = "/etc/myapp/config.toml"
		assert.Equal(t, "root deploy 640\n", vm.MustRun(t, "stat", "-c", "%U %G %a", conf))
		out := vm.MustExec(t, orbtest.Command("cat", conf).AsUser("deploy")).Stdout
		assert.Equal(t, "listen = \"0.0.0.0:9000\"\nlog_level = \"info\"\n", out)

		// nobody has no home directory to start in, so name one.
		res, err := vm.Exec(t.Context(), orbtest.Command("cat", conf).AsUser("nobody").InDir("/"))
		require.Error(t, err, "nobody must not read the config")
		assert.Contains(t, res.Stderr, "Permission denied")
	})

	t.Run("runcmd prepared the app directory", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, "deploy deploy 750\n", vm.MustRun(t, "stat", "-c", "%U %G %a", "/srv/myapp"))
	})
}

// TestDeployWorkflow acts as the operator would after provisioning: it
// writes a release into the app directory as deploy. It changes the
// machine, so it leases a pool machine of the same spec, which the pool
// resets afterwards.
func TestDeployWorkflow(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, provisioned)
	asDeploy := func(script string) orbtest.Cmd {
		return orbtest.ShellCommand(script).AsUser("deploy").InDir("/srv/myapp")
	}

	vm.MustExec(t, asDeploy("mkdir releases && echo v1 > releases/current"))
	assert.Equal(t, "deploy\n", root(t, vm, "stat", "-c", "%U", "/srv/myapp/releases/current"))

	// Publishing the release under /etc needs root, through the sudo rule.
	res, err := vm.Exec(t.Context(), asDeploy("sudo -n install -m 0644 releases/current /etc/myapp/release"))
	require.NoError(t, err)
	assert.Empty(t, res.Stderr)
	assert.Equal(t, "root 644\n", vm.MustRun(t, "stat", "-c", "%U %a", "/etc/myapp/release"))
	// Without sudo, /etc stays out of reach: the shell exits non-zero, and
	// the ExitError carries what it wrote.
	_, err = vm.Exec(t.Context(), asDeploy("echo v2 > /etc/myapp/release"))
	var exit *orbtest.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Contains(t, exit.Stderr, "Permission denied")
	assert.Equal(t, "v1\n", vm.MustRun(t, "cat", "/etc/myapp/release"))
}

// TestBrokenUserDataFails shows what happens to user data that fails: the
// machine is not handed over, and the error carries cloud-init's report.
// It uses StartVM, the error-returning form of NewVM, to look at the error
// instead of failing the test; StartVM's machines are the caller's and
// outside the pool, and one that fails to start is deleted by StartVM.
func TestBrokenUserDataFails(t *testing.T) {
	t.Parallel()
	orbtest.SkipIfUnavailable(t)
	broken := orbtest.Debian("bookworm").WithCloudInit(`#cloud-config
runcmd:
  - [sh, -c, "echo cannot reach the artifact server >&2; exit 3"]
`)

	vm, err := orbtest.StartVM(t.Context(), broken, orbtest.WithLogf(t.Logf))
	if vm != nil {
		t.Cleanup(func() { _ = vm.Delete(context.Background()) })
	}
	require.Error(t, err)
	t.Logf("StartVM: %v", err)
	assert.Nil(t, vm)
	assert.Contains(t, err.Error(), "cloud-init failed")
	assert.Contains(t, err.Error(), "runcmd")
}

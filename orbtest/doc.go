// Package orbtest gives each integration test a real, clean Linux machine
// as easily as t.TempDir gives it a directory: an OrbStack machine on macOS,
// an Incus system container on Linux.
//
// # Quick start
//
//	import "github.com/orbtest/go-orbtest/orbtest"
//
//	func TestInstaller(t *testing.T) {
//		t.Parallel()
//		vm := orbtest.NewVM(t, orbtest.Debian("bookworm").WithSetup("apt-get update && apt-get install -y curl"))
//		out := vm.MustRun(t, "curl", "--version")
//		if !strings.Contains(out, "curl") {
//			t.Errorf("curl --version = %q", out)
//		}
//	}
//
// [NewVM] creates the machine the [Spec] describes, waits until it is
// ready, and deletes it when the test ends. The setup step runs once per
// run for every test of the spec; apt-get update fetches the package lists,
// which most images do not ship. Where machines have no route out, set
// ORBTEST_PACKAGE_PROXY, and orbtest points each machine's package manager
// at that proxy (on Linux hosts scripts/setup-incus.sh runs one). The test's log shows each step:
//
//	orbtest: creating machine orbtest-3f9a1c2e-8b1d0f-a41c09 (debian:bookworm setup=1 on incus)
//	orbtest: machine orbtest-3f9a1c2e-8b1d0f-a41c09: setup step 1 of 1 done in 4.2s
//	orbtest: machine orbtest-3f9a1c2e-8b1d0f-a41c09 ready after 5.1s (created in 0.8s; shell: incus exec orbtest-3f9a1c2e-8b1d0f-a41c09 -- bash -l)
//	orbtest: deleted machine orbtest-3f9a1c2e-8b1d0f-a41c09 (310ms)
//
// Specs are immutable values built from [Debian], [Ubuntu], [Alpine],
// [Fedora] or [Distro], always with a pinned version, and extended with
// [Spec.WithArch], [Spec.WithUser], [Spec.WithCloudInit], [Spec.WithFile],
// [Spec.WithSetup], [Spec.WithCPUs], [Spec.WithMemory] and [Spec.WithDisk].
// Bad input (an unknown distro, a bad name, a relative guest path) fails
// the test with every problem listed before any machine is touched.
//
// # Commands
//
// [VM.Run] runs a program with arguments, never through a shell; [VM.Shell]
// runs a script through sh -c; [VM.Exec] runs a [Cmd] built with
// [Command], which sets the user, working directory, environment and
// standard input. A command that exits non-zero returns its [Result] and an
// [*ExitError]; the Must variants fail the test instead. [VM.Push] and
// [VM.Pull] copy files; [VM.Address] is where the host reaches the machine,
// and [VM.Hostname] the name other machines of the run resolve to it.
// [VM.Restart] reboots the machine and returns once it is on a new boot and
// ready again (the built-in checks, then those of [WithReady]); [VM.Stop]
// and [VM.Start] stop it and boot it again, and a command run while it is
// stopped fails saying so.
// Commands are never retried: only lifecycle calls (create, start, delete)
// are, and only after failures the backend classifies as transient.
//
// # Readiness
//
// A machine is ready when the backend reports it running and it runs a
// command; when the spec has cloud-init user data, also when cloud-init
// has finished (a failed cloud-init fails the machine, which OrbStack's own
// create does not). Then files are copied, setup steps run as root, and
// the checks given to [WithReady] pass in order: [SystemdRunning],
// [CloudInitDone], [PortListening], [PortReachable], [FileExists],
// [CommandSucceeds], [Running], combinations with [All] and [Any], and
// your own from [NewCheck].
//
// Checks are polled with exponential backoff that starts at 20ms, grows
// with jitter and is capped at 1s, so a ready machine is noticed at once
// and a slow one is not hammered. The wait stops at once when the machine
// stops or disappears, or a check returns a [Permanent] error; on timeout
// the error says what the last attempt saw. The wait is bounded by
// [WithReadyTimeout] (default 5m) and by the test's deadline less time
// kept back for teardown, because go test's -timeout panic skips every
// t.Cleanup. Give integration runs a generous -timeout, such as 20m.
//
// # Pools
//
// NewVM leases machines from a pool shared by every test and every package
// process of one go test run. For each spec a template is created and
// provisioned once per run (setup steps run once, however many tests share
// the spec), and pool machines are copy-on-write clones of it. A lease is
// exclusive; when the test ends the machine is reset (a snapshot restore on
// Incus, a fresh clone on OrbStack) and handed to the next test of the same
// spec. [Fresh] gives a test a machine no other test touches; [Shared]
// gives read-only tests one machine they use at once, never reset.
// ORBTEST_MAX_VMS (default 4) caps the machines alive at once across the
// run, and ORBTEST_MAX_CREATES (default 2) the creates in flight; tests
// that wait are served first come, first served across the run's
// processes, and each says in its log that it waits.
//
// [NewVMs] leases n machines of one spec together, all or none, so a test
// never holds some while it waits for the rest:
//
//	nodes := orbtest.NewVMs(t, 3, orbtest.Debian("bookworm"))
//	nodes[0].MustRun(t, "getent", "hosts", nodes[1].Hostname())
//
// A test that holds pool or Fresh machines and calls NewVM again is served when the run
// has room, and otherwise fails at once with advice rather than wait for
// tests that may be waiting for it.
//
// [VM.Partition] cuts the traffic between a machine and its peers, both
// ways, with iproute2 routing rules in the guests, and [VM.Heal] restores
// it; the pool's reset undoes a partition a test leaves behind:
//
//	require.NoError(t, nodes[0].Partition(t.Context(), nodes[1]))
//	// nodes[0] and nodes[1] no longer reach each other; nodes[2] reaches both
//	require.NoError(t, nodes[0].Heal(t.Context()))
//
// Because machines boot from the template's disk, a process a setup step
// starts in the background does not survive: install services as systemd
// units (systemctl enable --now).
//
// # Template cache
//
// A spec's template, once provisioned (files copied, setup steps and
// cloud-init done), is sealed (machine-id and SSH host keys cleared, so
// each clone makes its own), stopped and kept after the run as a cache
// entry named orbcache-STORE-KEY. Any later run, in any package, directory
// or checkout, whose spec has the same key clones from it instead of
// creating and provisioning, and logs
//
//	orbtest: template cache hit: orbcache-1a2b3c-... for debian:bookworm setup=1 (built 2h ago in 41s, 3 hits before)
//
// The key is the template's content: backend and version, the image the
// distro and version resolve to now (Incus: the image's fingerprint;
// OrbStack: distro, release and arch, and an entry older than 7 days is
// rebuilt), arch, user, cloud-init data, setup steps, limits, the package
// proxy, and each copied file's guest path, mode and content. Debian("12")
// and Debian("bookworm") are one key; one byte more in a copied file is
// another. Processes that need a missing entry at once build it once; an
// entry is used only once sealed, and one a dead builder left half built
// is rebuilt. Pass [NoCache] for a spec whose setup fetches something that
// changes under one name. ORBTEST_CACHE=off turns the cache off,
// ORBTEST_CACHE=refresh rebuilds the entries a run uses; runs prune entries
// unused for ORBTEST_CACHE_MAX_AGE (168h) and the least recently used
// beyond ORBTEST_CACHE_MAX_ENTRIES (20) when they start. The command
// orbtest cache ls lists the entries, orbtest cache prune deletes them;
// the reaper and orbtest gc never do. OrbStack before 2.0 cannot clone, so
// it has no cache (the log says so once).
// # Go tests in the machine
//
// Linux-only Go code (systemd, cgroups, netlink, /proc, mount namespaces)
// is tested where it runs with go test -exec and the orbtest command:
//
//	GOOS=linux go test -exec "orbtest exec" ./...
//
// Each package's test binary runs in a machine of the go command's pool,
// as root, in a copy of its package directory, with its output, exit code,
// -json, coverage and profiles as on a native run (orbtest help exec).
// From inside a host test, [GoTest] runs a package's tests in a machine
// the test prepared, each guest test's result in the test's log.
// [LeaseVM] is the pool lease outside a test that orbtest exec uses.
//
// # Cleanup and debugging
//
// NewVM registers the teardown with t.Cleanup before it leases anything,
// so a failing, panicking or timed-out-while-waiting test leaves nothing
// behind. The run's machines outlive its tests for reuse; a reaper started
// by the run's first process deletes them all when the go command exits,
// whether the run passed, panicked, timed out or was killed. No TestMain is
// needed. Set ORBTEST_KEEP=failed (or [WithKeep]) to keep the machine of a
// failed test; the log then says how to get a shell in it and how to
// delete it. With go test -artifacts, each machine of a failed test
// leaves its journal of the boot, the status of its failed units, its
// console log (where the backend keeps one) and the commands the test ran,
// with exit codes and durations, in t.ArtifactDir()/NAME, and the log says
// where; without -artifacts nothing is written. Machine names carry the
// run: orbtest-RUN-SPEC-RANDOM, where RUN is [RunID].
//
// # Backends and requirements
//
// ORBTEST_BACKEND chooses the backend: orbstack (orbctl, macOS), incus
// (Linux; scripts/setup-incus.sh installs it) or auto, the default, which
// takes the first that is installed and running. Without one, NewVM skips
// the test with the reason; with ORBTEST_REQUIRE=1, as CI sets it, it
// fails the test instead. Where the backends differ (default user,
// cloud-init, isolation, addresses) the README has a table.
//
// On OrbStack, machines are isolated from the Mac (no home directory, no
// SSH keys) where OrbStack offers it (2.1 and later) unless the spec asks
// for [Spec.WithHostAccess]; on older versions they share what every
// OrbStack machine shares. Resource limits need OrbStack 2.2.
//
// [StartVM] is the error-returning core of NewVM, for TestMain and tools;
// its caller owns the machine.
package orbtest

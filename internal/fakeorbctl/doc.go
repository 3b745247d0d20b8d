// Package fakeorbctl is a fake of OrbStack's orbctl command line, for
// testing the OrbStack backend on machines that cannot run OrbStack.
//
// The fake follows OrbStack's CLI reference (../shared/reference/orbctl.md,
// beside the repository; the "§" sections this package's comments cite are
// its sections): the argv syntax, the JSON it prints
// (two-space indent, trailing newline, "[]" for an empty list), the error
// strings ("[-32098] machine not found: 'x'"), the exit codes and the quirks:
// a bare "stop" stops everything, "run" rejects "--", "delete <ID>" crashes.
//
// # Machines
//
// A machine is a directory, $FAKEORBCTL_STATE/machines/NAME, holding
// record.json (the ContainerRecord that list and info print), meta.json
// (what the fake needs besides: creation order, limits, cloud-init) and root/,
// the machine's file system (root/home/USER, root/tmp, root/etc/hostname,
// root/usr/local/bin with a systemctl shim and, for machines created with -c,
// a cloud-init shim). "run" executes the command on the host with its working
// directory inside root/ and a clean environment; "push" and "pull" copy
// between the host and root/. Every invocation is appended to
// $FAKEORBCTL_STATE/calls.log as one JSON line
// {"argv":[...],"env_orbenv":"...","time":"..."} (argv without the program
// name); every mutation happens under an flock on $FAKEORBCTL_STATE/lock, so
// any number of fake processes may share a state directory.
//
// # Use from tests
//
// [New] gives a test its own state directory and the built binary ([Build]);
// [Fake.Command] runs it, [Fake.Env] and [Fake.Setenv] hand its configuration
// to code that runs orbctl itself, and [Fake.Machines], [Fake.Machine],
// [Fake.Calls] and [Fake.CountCalls] inspect what happened. The binary is
// cmd/orbctl, a one-line wrapper around [Main].
//
// # Environment
//
// Configuration (read by every invocation):
//
//	FAKEORBCTL_STATE        state directory (required; exit 1 without it)
//	FAKEORBCTL_VERSION      OrbStack version to impersonate, default 2.2.3.
//	                        Gates: clone needs >= 2.0, create --isolated >= 2.1,
//	                        create --cpus/--memory/--disk >= 2.2, the info
//	                        wrapper and the list SIZE column >= 1.10, ip4/ip6
//	                        and the list IP column >= 1.11.3
//	FAKEORBCTL_NATIVE_ARCH  host architecture, arm64 (default) or amd64; the
//	                        valid --arch values are arm64 amd64 on arm64 and
//	                        amd64 i386 on amd64
//	FAKEORBCTL_USER         default Linux user (normalised as OrbStack does);
//	                        default: the host $USER
//	FAKEORBCTL_STATUS       OrbStack state when no command has changed it:
//	                        running (default), starting, stopped. A bare "stop"
//	                        records stopped; "start" with no argument and every
//	                        command that auto-starts OrbStack (create, list,
//	                        info, run, push, pull, clone, delete, default,
//	                        rename, start NAME) record running
//	FAKEORBCTL_INFO_SHAPE   wrapper or bare: force the shape of "info -f json"
//	                        (default: wrapper from 1.10 on, bare before)
//	FAKEORBCTL_SYSTEMD      what the systemctl shim's is-system-running prints
//	                        (default running; anything else exits 1). Read by
//	                        "run" and written into the machine
//	FAKEORBCTL_CLOUDINIT    what the cloud-init shim's status reports: done
//	                        (default, exit 0), error (exit 1), running (exit 0)
//
// For tests, FAKEORBCTL_BIN names a prebuilt fake that [Build] returns
// instead of compiling one.
//
// # Fault injection
//
// Counters live in $FAKEORBCTL_STATE/counters.json and are
// updated under the lock, so "the first N calls" holds across processes:
//
//	FAKEORBCTL_CREATE_DELAY=d  create keeps the machine in state "creating"
//	                           for duration d before finishing
//	FAKEORBCTL_CREATE_FAIL=N   the first N create calls that pass validation
//	                           fail with "[-32098] create 'n': setup: machine
//	                           didn't start in 30s (missing IP address)", exit 1,
//	                           and leave no machine
//	FAKEORBCTL_CREATE_HANG=N   the first N create calls (not counting those
//	                           failed by CREATE_FAIL) finish the machine
//	                           (running) and then never exit (until killed,
//	                           or until the state directory is removed)
//	FAKEORBCTL_RUN_FAIL=N      in each machine, the first N run calls fail
//	                           before the command starts, printing
//	                           "\n[-32098] dial: connection refused\n" to stderr,
//	                           exit 1
//	FAKEORBCTL_DELETE_FAIL=N   the first N machine deletions fail with
//	                           "[-32098] delete 'n': remove rootfs: device or
//	                           resource busy", exit 1; the machine is left
//	                           stopped
//	FAKEORBCTL_START_DELAY=d   starting a machine (start, restart, and the
//	                           auto-start of run/push/pull) keeps it in state
//	                           "starting" for d
//
// # Where the fake differs from OrbStack
//
// A machine is not a VM: "run" runs the command on the host. Only its working
// directory, HOME and the programs found through PATH (and absolute program
// paths that exist under root/) are the machine's; an absolute path in an
// argument ("cat /etc/os-release") is the host's, except
// /proc/sys/kernel/random/boot_id, which is the machine's: each start (and
// restart) writes a new one, as each boot of Linux has its own. The fake cannot switch
// users: -u only changes HOME, USER and LOGNAME. Without -w the command runs in
// the user's home (orbctl would forward the Mac's working directory).
// Machines have no network of their own; info reports 127.0.0.1 and ::1 while
// a machine runs. Images are not downloaded: known versions are listed in
// images.go, anything else is "image not found". OrbStack coming back up
// after a bare "stop" does not restart the machines that were running.
//
// The command "run" starts is in a session of its own, and a client that is
// killed leaves it running, as a machine's command outlives a dropped
// connection; the interrupts a live client gets (INT, TERM, HUP, QUIT) are
// passed on to it. Stopping or deleting the machine ends every such
// session, as stopping a machine ends what runs in it.
//
// Inside "run", the command sees PATH=<root>/usr/local/bin:<root>/usr/bin:
// <host PATH>, HOME, USER, LOGNAME, ORB_MACHINE and the variables that ORBENV
// (colon-separated names) forwards from the fake's own environment, nothing
// else.
package fakeorbctl

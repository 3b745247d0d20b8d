// Package goexec runs a Go test binary in a machine as go test would run
// it on the host: in a copy of its package directory, with the flags and
// environment variables that name host paths rewritten to paths in the
// machine, and the files the binary writes there brought back to the host
// paths go test expects. It serves `orbtest exec` (go test -exec) and
// orbtest.GoTest.
//
// In the machine everything lives under [Root]:
//
//	Root/src/IMPORTPATH   the copy of the package directory, the binary's working directory
//	Root/bin/NAME.test    the test binary
//	Root/out/N-BASE       where the binary writes what it would write to a host path
//
// Every guest path the binary or the commands are given is relative (to
// the package directory, or to / for the commands that unpack and pack),
// so it means the same in a machine that is a directory on the host (the
// fake orbctl) as in a real one.
//
// The decisions are pure functions tested by table: [Rewrite] over argv,
// [ArchOf] over an ELF header, [Layout] over an import path; [Run] only
// carries them out through a [Runner].
package goexec

// Package orbctl is orbtest's OrbStack driver. It drives Linux machines
// through the orbctl CLI the way every orbtest backend works: pure functions
// build each argv (never a shell string), [cmdrun.Run] executes it, parsers
// read orbctl's JSON and text output, and failures are classified into the
// error classes of package backend.
//
// The argv builders ([CreateArgs], [RunArgs], ...) validate their input so no
// caller-supplied string can become an extra argument or a flag, and they
// encode orbctl's foot-guns as errors: a run command always names its
// machine with -m and never uses "--"; stop and delete always name a machine
// (a bare "orbctl stop" stops all of OrbStack); delete is by name, never by
// ID (delete by ID crashes orbctl 2.2.3).
//
// [Driver] implements [backend.Driver] on top of them.
//
// [cmdrun.Run]: https://pkg.go.dev/github.com/orbtest/go-orbtest/internal/cmdrun#Run
package orbctl

package main

import (
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // substring of stdout
		stderr string // substring of stderr
	}{
		{args: nil, code: 2, stderr: "usage: orbtest <command>"},
		{args: []string{"frob"}, code: 2, stderr: "orbtest: unknown command \"frob\"\nusage: orbtest <command>"},
		{args: []string{"help"}, code: 0, stdout: "gc      delete the machines of ended runs"},
		{args: []string{"-h"}, code: 0, stdout: "usage: orbtest <command>"},
		{args: []string{"help", "gc"}, code: 0, stdout: "usage: orbtest gc [-dry-run] [-all [-older-than DURATION] | NAME...]"},
		{args: []string{"gc", "-all", "orbtest-x"}, code: 2, stderr: "orbtest: gc: NAME... deletes the machines named; it takes no -all"},
		{args: []string{"cache"}, code: 2, stderr: "orbtest: cache: say ls or prune"},
		{args: []string{"cache", "frob"}, code: 2, stderr: "orbtest: cache: unknown subcommand \"frob\""},
		{args: []string{"cache", "prune", "-older-than", "-1h"}, code: 2, stderr: "must not be negative"},
		{args: []string{"cache", "ls", "extra"}, code: 2, stderr: "orbtest: cache ls: unexpected argument \"extra\""},
		{args: []string{"ls", "-h"}, code: 0, stderr: "usage: orbtest ls [-json]"},
		{args: []string{"ls", "-bogus"}, code: 2, stderr: "orbtest: ls: flag provided but not defined: -bogus\nusage: orbtest ls"},
		{args: []string{"ls", "extra"}, code: 2, stderr: "orbtest: ls: unexpected argument \"extra\""},
		{args: []string{"doctor", "-json"}, code: 2, stderr: "usage: orbtest doctor"},
		{args: []string{"gc", "-older-than", "2h"}, code: 2, stderr: "orbtest: gc: -older-than needs -all"},
		{args: []string{"gc", "-all", "-older-than", "soon"}, code: 2, stderr: "orbtest: gc: invalid value \"soon\" for flag -older-than"},
		{args: []string{"gc", "-all", "-older-than", "-1h"}, code: 2, stderr: "must not be negative"},
		{args: []string{"help", "exec"}, code: 0, stdout: "usage: orbtest exec [flags] TESTBINARY [ARGS...]"},
		{args: []string{"exec"}, code: 2, stderr: "orbtest: exec: no test binary: use orbtest exec [flags] TESTBINARY [ARGS...]"},
		{args: []string{"exec", "main_test.go"}, code: 2, stderr: `orbtest: exec: test binary "main_test.go" is not a Linux executable`},
		{args: []string{"exec", "-env", "A B", "-file", "nocolon", "/proc/self/exe"}, code: 2, stderr: `-file "nocolon": use HOST:GUEST`},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			f, _ := setup(t)
			create(t, f, "debian:bookworm", deadPool)
			code, out, errw := orbtest(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errw, tc.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out, errw)
			}
			if len(f.Machines()) != 1 || f.CountCalls("delete") != 0 {
				t.Errorf("a usage error changed something")
			}
		})
	}
}

func TestFmtAge(t *testing.T) {
	now := fixedNow()
	for _, tc := range []struct {
		ago  string
		want string
	}{{"0s", "0s"}, {"45s", "45s"}, {"12m30s", "12m"}, {"3h5m", "3h5m"}, {"50h", "2d2h"}, {"-5s", "0s"}} {
		if got := fmtAge(now.Add(-mustDuration(t, tc.ago)), now); got != tc.want {
			t.Errorf("fmtAge(%s) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	if got := fmtAge(zeroTime(), now); got != "-" {
		t.Errorf("unknown age = %q", got)
	}
}

package incus

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// ownExecFlag reports whether tok is a flag the Exec builder writes itself.
func ownExecFlag(tok string) bool {
	if tok == "-T" || tok == "-n" {
		return true
	}
	for _, p := range []string{"--user=", "--group=", "--cwd=", "--env="} {
		if strings.HasPrefix(tok, p) {
			return true
		}
	}
	return false
}

func FuzzExecArgs(f *testing.F) {
	f.Add("orbtest-a", "", "/tmp", "A", "b", "sh", "-c", "echo hi", false)
	f.Add("-x", "lab", "-x", "--user", "0", "--", "--help", "-", true)
	f.Add("orbtest-b", "r", "/", "=", "", "", "x", "y", false)
	f.Add("a", "", "", "--cwd", "/etc", "-T", "--", "--env=X=1", true)
	f.Fuzz(func(t *testing.T, name, remote, cwd, key, val, a0, a1, a2 string, noStdin bool) {
		argv := []string{a0, a1, a2}
		o := ExecOptions{Cwd: cwd, Env: []string{key + "=" + val}, NoStdin: noStdin, UID: len(a1), GID: len(a2)}
		got, err := Builder{Remote: remote}.Exec(name, o, argv)
		if err != nil {
			if got != nil {
				t.Fatalf("argv %q with error %v", got, err)
			}
			if !strings.Contains(err.Error(), "incus") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if ValidateName(name) != nil || ValidateRemote(remote) != nil {
			t.Fatalf("invalid name %q or remote %q accepted: %q", name, remote, got)
		}
		if got[0] != "exec" || got[1] != instanceRef(remote, name) {
			t.Fatalf("argv %q does not start with exec %s", got, instanceRef(remote, name))
		}
		sep := slices.Index(got, "--")
		if sep < 0 {
			t.Fatalf("argv %q has no --", got)
		}
		for _, tok := range got[2:sep] {
			if !ownExecFlag(tok) {
				t.Fatalf("token %q before -- is not one of the builder's flags: %q", tok, got)
			}
		}
		if !slices.Equal(got[sep+1:], argv) {
			t.Fatalf("argv after -- is %q, want %q", got[sep+1:], argv)
		}
		if o.Cwd != "" && !slices.Contains(got[2:sep], "--cwd="+o.Cwd) {
			t.Fatalf("cwd %q missing from %q", o.Cwd, got)
		}
		if !slices.Contains(got[2:sep], "--env="+key+"="+val) {
			t.Fatalf("env %q missing from %q", key+"="+val, got)
		}
	})
}

var nameRE = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func FuzzNameValidation(f *testing.F) {
	for _, s := range []string{"", "a", "orbtest-it-1", "-x", "a_b", "a.b", "a-", "1a", "A", strings.Repeat("a", 64), "a\x00", "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateName(name)
		if want := nameRE.MatchString(name); want != (err == nil) {
			t.Fatalf("ValidateName(%q) = %v, regexp says valid=%v", name, err, want)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "invalid instance name") || !errors.Is(err, backend.ErrInvalid) {
				t.Fatalf("ValidateName(%q) = %v, want an ErrInvalid naming the problem", name, err)
			}
			if _, berr := (Builder{}).Delete(name); berr == nil {
				t.Fatalf("Delete built argv for invalid name %q", name)
			}
			return
		}
		got, berr := Builder{}.Delete(name)
		if berr != nil || !slices.Equal(got, []string{"delete", "--force", name}) {
			t.Fatalf("Delete(%q) = %q, %v", name, got, berr)
		}
	})
}

func FuzzFileArgs(f *testing.F) {
	f.Add("orbtest-a", "-", "/f", true)
	f.Add("orbtest-a", "--uid=0", "/etc/x", false)
	f.Add("orbtest-a", "/tmp/x", "relative", true)
	f.Fuzz(func(t *testing.T, name, host, guest string, push bool) {
		var got []string
		var err error
		if push {
			got, err = Builder{}.FilePush(name, host, guest, PushOptions{UID: -1, GID: -1, Mode: -1})
		} else {
			got, err = Builder{}.FilePull(name, guest, host)
		}
		if err != nil {
			return
		}
		sep := slices.Index(got, "--")
		if sep < 0 || len(got) != sep+3 {
			t.Fatalf("argv %q: want exactly two positionals after --", got)
		}
		for _, tok := range got[sep+1:] {
			if strings.HasPrefix(tok, "-") {
				t.Fatalf("positional %q starts with '-': %q", tok, got)
			}
		}
		gref := name + guest
		if !slices.Contains(got[sep+1:], gref) || !strings.HasPrefix(guest, "/") {
			t.Fatalf("argv %q: guest ref %q missing or relative", got, gref)
		}
	})
}

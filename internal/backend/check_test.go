package backend

import (
	"errors"
	"strings"
	"testing"
)

func TestChecks(t *testing.T) {
	tests := []struct {
		reason  string
		check   func(string) error
		in      string
		wantMsg string // in the error; "" means accepted
	}{
		{"guest path", CheckGuestPath, "/home/dev/x y", ""},
		{"a working directory may be the root", CheckGuestPath, "/", ""},
		{"guest path empty", CheckGuestPath, "", `guest path "" is not absolute`},
		{"guest path relative", CheckGuestPath, "etc/x", `guest path "etc/x" is not absolute`},
		{"a guest path that looks like a flag is relative", CheckGuestPath, "-rf", "is not absolute"},
		{"guest path with NUL", CheckGuestPath, "/a\x00b", "NUL"},

		{"guest file", CheckGuestFile, "/etc/motd", ""},
		{"guest file with spaces, quotes and Unicode", CheckGuestFile, "/tmp/a b'é", ""},
		{"a guest file is a guest path", CheckGuestFile, "tmp/x", "is not absolute"},
		{"guest file with NUL", CheckGuestFile, "/tmp/\x00", "NUL"},
		{"the root is no file", CheckGuestFile, "/", "is the root directory"},
		{"nor what cleans to the root", CheckGuestFile, "//.", "is the root directory"},
		{"a directory below the root may be a copy's target", CheckGuestFile, "/tmp/", ""},

		{"host path absolute", CheckHostPath, "/tmp/x", ""},
		{"host path relative", CheckHostPath, "data/x", ""},
		{"host path empty", CheckHostPath, "", "host path is empty"},
		{"host path with NUL", CheckHostPath, "/tmp/\x00", "NUL"},

		{"user plain", CheckUser, "dev", ""},
		{"user leading underscore", CheckUser, "_svc", ""},
		{"user with digits, _ and -", CheckUser, "ci-runner_2", ""},
		{"user 32 characters", CheckUser, strings.Repeat("u", 32), ""},
		{"user lower case only", CheckUser, "Dev", `bad user name "Dev": use lower-case letters`},
		{"user no leading digit", CheckUser, "1dev", "bad user name"},
		{"user no leading dash", CheckUser, "-dev", "bad user name"},
		{"user no dot", CheckUser, "a.b", "bad user name"},
		{"user no space", CheckUser, "a b", "bad user name"},
		{"user 32 at most", CheckUser, strings.Repeat("u", 33), "(at most 32)"},
		{"user empty", CheckUser, "", "bad user name"},
	}
	for _, tt := range tests {
		err := tt.check(tt.in)
		switch {
		case tt.wantMsg == "" && err != nil:
			t.Errorf("%s: %q: unexpected error %v", tt.reason, tt.in, err)
		case tt.wantMsg != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg)):
			t.Errorf("%s: %q: error %v, want one wrapping ErrInvalid and saying %q", tt.reason, tt.in, err, tt.wantMsg)
		}
	}
}

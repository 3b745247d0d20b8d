package fakeorbctl

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalizeUser(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                                  "alice",
		"Alice.Smith":                            "alice_smith",
		"1bob":                                   "_1bob",
		"":                                       "user",
		"joão":                                   "jo_o",
		"a-very-long-user-name-that-exceeds-32c": "a-very-long-user-name-that-excee",
	} {
		if got := normalizeUser(in); got != want {
			t.Errorf("normalizeUser(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestULID(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for range 1000 {
		id := newULID()
		if len(id) != 26 || strings.Trim(id, crockford) != "" || !strings.ContainsAny(id[:1], "01234567") {
			t.Fatalf("bad ULID %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
		if id[:10] < prev {
			t.Fatalf("time part went backwards: %q < %q", id[:10], prev)
		}
		prev = id[:10]
	}
}

func TestByteCountSI(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 847974400: "848.0 MB", 1500000000: "1.5 GB"} {
		if got := byteCountSI(in); got != want {
			t.Errorf("byteCountSI(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	specs := []flagSpec{{"arch", "a", stringFlag, ""}, {"force", "f", boolFlag, ""}, {"all", "", boolFlag, ""}, {"cpus", "", intFlag, ""}}
	p, err := parseFlags(specs, []string{"x", "-fa", "amd64", "y", "--cpus=4", "--all", "--", "-z"})
	if err != nil || p.str("arch") != "amd64" || !p.bool("force") || !p.bool("all") || p.str("cpus") != "4" ||
		!slices.Equal(p.args, []string{"x", "y", "-z"}) {
		t.Errorf("parse: %+v %v", p, err)
	}
	if p, err := parseFlags(specs, []string{"-aarm64", "-f=false"}); err != nil || p.str("arch") != "arm64" || p.bool("force") {
		t.Errorf("attached values: %+v %v", p, err)
	}
	for args, want := range map[string]string{
		"--nope":     "unknown flag: --nope",
		"-q":         "unknown shorthand flag: 'q' in -q",
		"-fq":        "unknown shorthand flag: 'q' in -fq",
		"--arch":     "flag needs an argument: --arch",
		"-a":         "flag needs an argument: 'a' in -a",
		"--cpus=x":   `invalid argument "x" for "--cpus" flag: strconv.ParseInt: parsing "x": invalid syntax`,
		"--force=no": `invalid argument "no" for "-f, --force" flag: strconv.ParseBool: parsing "no": invalid syntax`,
	} {
		if _, err := parseFlags(specs, strings.Fields(args)); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", args, err, want)
		}
	}
}

func TestVersionCompare(t *testing.T) {
	v, err := parseVersion("2.2.3")
	if err != nil || !v.atLeast(2, 2, 0) || !v.atLeast(2, 2, 3) || v.atLeast(2, 2, 4) || v.atLeast(3, 0, 0) || v.code() != 2020300 {
		t.Errorf("%v %v", v, err)
	}
	if v, err := parseVersion("1.11"); err != nil || v != (version{1, 11, 0}) {
		t.Errorf("%v %v", v, err)
	}
	for _, bad := range []string{"", "2", "a.b.c", "1.2.3.4"} {
		if _, err := parseVersion(bad); err == nil {
			t.Errorf("parseVersion(%q) succeeded", bad)
		}
	}
}

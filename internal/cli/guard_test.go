package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestGuardArgv(t *testing.T) {
	tests := []struct {
		reason      string
		dir         string
		home, stdin bool
		wantMode    string
		wantDir     string
	}{
		{"a named directory is strict", "/srv/app", false, false, "s", "./srv/app"},
		{"a home may be missing", "/home/alice", true, false, "h", "./home/alice"},
		{"stdin mode", "/srv", false, true, "si", "./srv"},
		{"home and stdin", "/root", true, true, "hi", "./root"},
		{"the root is the start", "/", false, false, "s", "."},
		{"no directory is the root", "", true, false, "h", "."},
		{"spaces stay one argument", "/a b/c", false, false, "s", "./a b/c"},
	}
	for _, tt := range tests {
		got := GuardArgv("tok", tt.dir, tt.home, tt.stdin, []string{"printf", "%s", "a b"})
		want := []string{"/bin/sh", "-c", guardScript, "orbtest-exec", "tok", tt.wantMode, tt.wantDir, "printf", "%s", "a b"}
		if !slices.Equal(got, want) {
			t.Errorf("%s: GuardArgv = %q, want %q", tt.reason, got[3:], want[3:])
		}
	}
}

func TestKillAndAckArgv(t *testing.T) {
	s := Start{Kind: "group", PID: 42, Guard: 41}
	if got, want := KillArgv(s, false), []string{"/bin/sh", "-c", killScript, "orbtest-kill", "group", "42", "41", "5", "n"}; !slices.Equal(got, want) {
		t.Errorf("KillArgv = %q, want %q", got, want)
	}
	if got := KillArgv(Start{Kind: "pid", PID: 7, Guard: 6}, true); !slices.Equal(got[4:], []string{"pid", "7", "6", "5", "i"}) {
		t.Errorf("KillArgv in stdin mode = %q", got[4:])
	}
	if got := AckArgv(s); got[len(got)-1] != "41" || got[0] != "/bin/sh" {
		t.Errorf("AckArgv = %q", got)
	}
}

func TestParseStart(t *testing.T) {
	tests := []struct {
		in   string
		want Start
		ok   bool
	}{
		{"42:41:group", Start{"group", 42, 41}, true},
		{"42:41:pid", Start{"pid", 42, 41}, true},
		{"42:41:other", Start{}, false},
		{"42:group", Start{}, false},
		{"x:41:group", Start{}, false},
		{"1:41:group", Start{}, false}, // never signal init
		{"-5:41:group", Start{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStart(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseStart(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDemux(t *testing.T) {
	const rs = "\x1eorbtest:tok:"
	tests := []struct {
		reason  string
		chunks  []string
		want    string
		starts  []Start
		ends    []string
		held    string // bytes not yet passed on after the last chunk
		wantErr bool
	}{
		{reason: "plain output then the end", chunks: []string{"hello", "\n" + rs + "end:0\n"}, want: "hello\n", ends: []string{"0"}},
		{reason: "no trailing newline", chunks: []string{"abc" + rs + "end:3\n"}, want: "abc", ends: []string{"3"}},
		{reason: "the start record is stripped", chunks: []string{rs + "start:9:8:group\n", "x", rs + "end:0\n"}, want: "x", starts: []Start{{"group", 9, 8}}, ends: []string{"0"}},
		{reason: "a record split across writes", chunks: []string{"a\x1eorb", "test:tok:e", "nd:1", "2\n"}, want: "a", ends: []string{"12"}},
		{reason: "a record-like line of another token passes", chunks: []string{"\x1eorbtest:other:end:0\n", rs + "end:0\n"}, want: "\x1eorbtest:other:end:0\n", ends: []string{"0"}},
		{reason: "bytes after the end are dropped", chunks: []string{rs + "end:0\nlate", "later"}, want: "", ends: []string{"0"}},
		{reason: "a possible record start is held back", chunks: []string{"data\x1eorbt"}, want: "data", held: "\x1eorbt"},
		{reason: "held bytes that are no record are passed on", chunks: []string{"data\x1eorbt", "x"}, want: "data\x1eorbtx"},
		{reason: "binary with NUL and RS", chunks: []string{"\x00\x1e\xff\n", rs + "end:0\n"}, want: "\x00\x1e\xff\n", ends: []string{"0"}},
		{reason: "a malformed record is an error", chunks: []string{rs + "bogus\n"}, want: "", wantErr: true},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		var starts []Start
		var ends []string
		d := newDemux("tok", &out, func(s Start) { starts = append(starts, s) }, func(s string) { ends = append(ends, s) })
		for _, c := range tt.chunks {
			if n, err := d.Write([]byte(c)); n != len(c) || err != nil {
				t.Fatalf("%s: Write = %d, %v", tt.reason, n, err)
			}
		}
		if out.String() != tt.want || !slices.Equal(starts, tt.starts) || !slices.Equal(ends, tt.ends) || string(d.pending) != tt.held || (d.err != nil) != tt.wantErr {
			t.Errorf("%s: out %q starts %v ends %q held %q err %v; want %q %v %q %q err %v",
				tt.reason, out.String(), starts, ends, d.pending, d.err, tt.want, tt.starts, tt.ends, tt.held, tt.wantErr)
		}
	}
}

func TestPartialPrefix(t *testing.T) {
	p := []byte("\x1eorbtest:tok:")
	for _, tt := range []struct {
		in   string
		want int
	}{{"", 0}, {"abc", 0}, {"abc\x1e", 1}, {"\x1eorbtest:to", 11}, {"x\x1eorbtest:tox", 0}} {
		if got := partialPrefix([]byte(tt.in), p); got != tt.want {
			t.Errorf("partialPrefix(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
	if !strings.HasPrefix(string(p), "\x1e") {
		t.Fatal("prefix")
	}
}

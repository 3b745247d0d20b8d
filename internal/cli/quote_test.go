package cli

import "testing"

func TestQuote(t *testing.T) {
	tests := []struct {
		reason string
		in     string
		want   string
	}{
		{"a plain word stays", "orbtest-a1", "orbtest-a1"},
		{"paths, remotes and flags stay", "/usr/local/bin/incus", "/usr/local/bin/incus"},
		{"every safe punctuation stays", "a-_./:=@%+,z", "a-_./:=@%+,z"},
		{"empty is two quotes", "", "''"},
		{"a space is quoted", "a b", "'a b'"},
		{"a single quote is closed, escaped and reopened", "a b'c", `'a b'\''c'`},
		{"shell syntax is quoted", "$(rm -rf ~)", "'$(rm -rf ~)'"},
		{"a newline is quoted", "a\nb", "'a\nb'"},
		{"non-ASCII is quoted", "é", "'é'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("%s: Quote(%q) = %s, want %s", tt.reason, tt.in, got, tt.want)
		}
	}
}

func TestJoin(t *testing.T) {
	tests := []struct {
		reason string
		words  []string
		want   string
	}{
		{"plain words", []string{"incus", "delete", "--force", "lab:orbtest-a"}, "incus delete --force lab:orbtest-a"},
		{"only the words that need it are quoted", []string{"/opt/my incus/incus", "exec", "orbtest-a"}, "'/opt/my incus/incus' exec orbtest-a"},
		{"an empty word keeps its place", []string{"printf", "", "x"}, "printf '' x"},
		{"no words", nil, ""},
	}
	for _, tt := range tests {
		if got := Join(tt.words...); got != tt.want {
			t.Errorf("%s: Join(%q) = %s, want %s", tt.reason, tt.words, got, tt.want)
		}
	}
}

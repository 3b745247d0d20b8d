package orbctl

import (
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
)

func TestExecEnv(t *testing.T) {
	tests := []struct {
		reason    string
		env       []string
		want      []string
		wantClass error
	}{
		{reason: "no env adds nothing", env: nil, want: nil},
		{reason: "one pair", env: []string{"FOO=1"}, want: []string{"FOO=1", "ORBENV=FOO"}},
		{reason: "keys in order, joined by colons", env: []string{"A=1", "B=two words", "C="},
			want: []string{"A=1", "B=two words", "C=", "ORBENV=A:B:C"}},
		{reason: "values may contain = and :", env: []string{"URL=http://h:1/?a=b"},
			want: []string{"URL=http://h:1/?a=b", "ORBENV=URL"}},
		{reason: "a repeated key keeps its last value once", env: []string{"A=1", "B=2", "A=3"},
			want: []string{"A=3", "B=2", "ORBENV=A:B"}},
		{reason: "no equals sign", env: []string{"FOO"}, wantClass: backend.ErrInvalid},
		{reason: "empty key", env: []string{"=x"}, wantClass: backend.ErrInvalid},
		{reason: "colon in a key would split ORBENV", env: []string{"A:B=1"}, wantClass: backend.ErrInvalid},
		{reason: "key starting with a digit", env: []string{"1A=1"}, wantClass: backend.ErrInvalid},
		{reason: "ORBENV itself is reserved", env: []string{"ORBENV=PATH"}, wantClass: backend.ErrInvalid},
		{reason: "NUL in a value", env: []string{"A=\x00"}, wantClass: backend.ErrInvalid},
	}
	for _, tt := range tests {
		got, err := ExecEnv(tt.env)
		checkErr(t, tt.reason, err, tt.wantClass, "")
		if d := diff(tt.want, got); tt.wantClass == nil && d != "" {
			t.Errorf("%s: ExecEnv %s", tt.reason, d)
		}
	}
}

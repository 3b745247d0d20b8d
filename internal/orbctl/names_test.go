package orbctl

import (
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name   string
		ok     bool
		reason string
	}{
		{"ab", true, "two characters is the minimum"},
		{"orbtest-run1-abc-1", true, "a typical fixture name"},
		{"Machine.Test-2", true, "upper case, dots and dashes are allowed"},
		{"1abc", true, "may start with a digit"},
		{strings.Repeat("a", 63), true, "63 characters is the maximum"},
		{"", false, "empty name would make stop stop all of OrbStack"},
		{"a", false, "one character does not match the pattern"},
		{strings.Repeat("a", 64), false, "longer than a DNS label"},
		{"-x", false, "leading dash would be a flag"},
		{".ab", false, "must start alphanumeric"},
		{"a_b", false, "underscore is not allowed"},
		{"a b", false, "space is not allowed"},
		{"a/b", false, "slash is not allowed"},
		{"ab\n", false, "newline is not allowed"},
		{"ünï", false, "non-ASCII is not allowed"},
		{"docker", false, "builtin docker machine is reserved"},
		{"k8s", false, "builtin k8s machine is reserved"},
		{"default", false, "reserved"},
		{"vm", false, "reserved"},
		{"host", false, "reserved"},
		{"services", false, "reserved"},
		{"gateway", false, "reserved"},
		{"Docker", false, "reserved names are refused in any case"},
		{"docker2", true, "only exact reserved names are refused"},
		{"01KHVDCW7HTAGRPMB823KADP9B", true, "a ULID is syntactically a name; DeleteArgs cannot tell"},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if tt.ok {
			checkErr(t, tt.reason, err, nil, "")
		} else {
			checkErr(t, tt.reason, err, backend.ErrInvalid, "machine name")
		}
	}
}

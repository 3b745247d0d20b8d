package orbctl

import (
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		reason  string
		out     string
		want    Version
		wantErr bool
	}{
		{reason: "2.2.3 as printed", out: "Version: 2.2.3 (2020300)\nCommit: 8f2e1c3a (v2.2.3)\n",
			want: Version{Major: 2, Minor: 2, Patch: 3, Build: 2020300, Commit: "8f2e1c3a", Raw: "2.2.3"}},
		{reason: "older release", out: "Version: 1.11.3 (1110300)\nCommit: abc (v1.11.3)\n",
			want: Version{Major: 1, Minor: 11, Patch: 3, Build: 1110300, Commit: "abc", Raw: "1.11.3"}},
		{reason: "no commit line", out: "Version: 2.0.4 (2000400)\n",
			want: Version{Major: 2, Minor: 0, Patch: 4, Build: 2000400, Raw: "2.0.4"}},
		{reason: "no build number", out: "Version: 2.1.0\n", want: Version{Major: 2, Minor: 1, Raw: "2.1.0"}},
		{reason: "pre-release suffix is kept in Raw", out: "Version: 2.3.0-rc1 (2030000)\n",
			want: Version{Major: 2, Minor: 3, Build: 2030000, Raw: "2.3.0-rc1"}},
		{reason: "two-part version", out: "Version: 2.2 (2020000)\n", want: Version{Major: 2, Minor: 2, Build: 2020000, Raw: "2.2"}},
		{reason: "CRLF and surrounding noise", out: "\r\nsomething else\r\nVersion: 2.2.3 (2020300)\r\n",
			want: Version{Major: 2, Minor: 2, Patch: 3, Build: 2020300, Raw: "2.2.3"}},
		{reason: "empty output", out: "", wantErr: true},
		{reason: "no Version line", out: "Commit: abc\n", wantErr: true},
		{reason: "empty Version line", out: "Version:\n", wantErr: true},
		{reason: "garbage version", out: "Version: banana (1)\n", wantErr: true},
		{reason: "one-part version", out: "Version: 2 (1)\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseVersion([]byte(tt.out))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: ParseVersion error = %v, want error %v", tt.reason, err, tt.wantErr)
			continue
		}
		if d := diff(tt.want, got); !tt.wantErr && d != "" {
			t.Errorf("%s: ParseVersion %s", tt.reason, d)
		}
	}
}

func TestVersionString(t *testing.T) {
	tests := []struct {
		reason string
		v      Version
		want   string
	}{
		{"raw wins", Version{Major: 2, Minor: 2, Patch: 3, Raw: "2.2.3-rc1"}, "2.2.3-rc1"},
		{"built from numbers", Version{Major: 2, Minor: 1, Patch: 0}, "2.1.0"},
		{"zero is unknown", Version{}, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%s: String() = %q, want %q", tt.reason, got, tt.want)
		}
	}
}

func TestFeaturesFor(t *testing.T) {
	type flags struct{ Clone, Isolated, Limits, CloudInit bool }
	tests := []struct {
		reason string
		v      Version
		want   flags
		names  []string // Backend(): what doctor shows
	}{
		{"1.2 has nothing optional", Version{Major: 1, Minor: 2}, flags{}, nil},
		{"1.3 adds cloud-init", Version{Major: 1, Minor: 3}, flags{CloudInit: true}, []string{"cloud-init"}},
		{"1.11 still has no clone", Version{Major: 1, Minor: 11, Patch: 3}, flags{CloudInit: true}, []string{"cloud-init"}},
		{"2.0 adds clone", Version{Major: 2, Minor: 0, Patch: 4}, flags{CloudInit: true, Clone: true}, []string{"cloud-init"}},
		{"2.1 adds isolated", Version{Major: 2, Minor: 1}, flags{CloudInit: true, Clone: true, Isolated: true}, []string{"isolated", "cloud-init"}},
		{"2.2 adds limits", Version{Major: 2, Minor: 2, Patch: 3}, flags{CloudInit: true, Clone: true, Isolated: true, Limits: true}, []string{"isolated", "limits", "cloud-init"}},
		{"3.0 keeps all", Version{Major: 3}, flags{CloudInit: true, Clone: true, Isolated: true, Limits: true}, []string{"isolated", "limits", "cloud-init"}},
		{"zero version has nothing", Version{}, flags{}, nil},
	}
	for _, tt := range tests {
		f := FeaturesFor(tt.v)
		if f.Version != tt.v {
			t.Errorf("%s: Features.Version = %v, want %v", tt.reason, f.Version, tt.v)
		}
		if d := diff(tt.want, flags{f.Clone, f.Isolated, f.Limits, f.CloudInit}); d != "" {
			t.Errorf("%s: FeaturesFor(%v) %s", tt.reason, tt.v, d)
		}
		if d := diff(tt.names, f.Backend()); d != "" {
			t.Errorf("%s: FeaturesFor(%v).Backend() %s", tt.reason, tt.v, d)
		}
	}
}

func TestAtLeast(t *testing.T) {
	v := Version{Major: 2, Minor: 1, Patch: 3}
	tests := []struct {
		major, minor int
		want         bool
	}{
		{1, 99, true}, {2, 0, true}, {2, 1, true}, {2, 2, false}, {3, 0, false},
	}
	for _, tt := range tests {
		if got := v.AtLeast(tt.major, tt.minor); got != tt.want {
			t.Errorf("2.1.3 AtLeast(%d, %d) = %v, want %v", tt.major, tt.minor, got, tt.want)
		}
	}
}

package orbctl

import (
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// recordJSON is a 2.2-era machine record with fields the parser ignores.
const recordJSON = `{
  "id": "01KHVDCW7HTAGRPMB823KADP9B",
  "name": "ubuntu",
  "image": {"distro": "ubuntu", "version": "questing", "arch": "arm64", "variant": "default"},
  "config": {"isolated": true, "isolate_network": false, "forward_ssh_agent": false,
             "http_port": 0, "https_port": null, "default_username": "alice", "mounts": []},
  "builtin": false,
  "state": "running",
  "future_field": {"nested": [1, 2, 3]}
}`

var ubuntuCreated = time.UnixMilli(ulidMillis("01KHVDCW7H")).UTC()

// ulidMillis decodes a ULID's timestamp independently of ulidTime.
func ulidMillis(ts string) int64 {
	var ms int64
	for _, c := range ts {
		for i, a := range crockford {
			if a == c {
				ms = ms*32 + int64(i)
			}
		}
	}
	return ms
}

var ubuntuMachine = backend.Machine{
	Name: "ubuntu", ID: "01KHVDCW7HTAGRPMB823KADP9B", State: backend.StateRunning,
	Distro: "ubuntu", Version: "questing", Arch: "arm64", User: "alice", Created: ubuntuCreated,
}

func TestParseList(t *testing.T) {
	tests := []struct {
		reason  string
		out     string
		want    []backend.Machine
		wantErr bool
	}{
		{reason: "empty array", out: "[]\n", want: []backend.Machine{}},
		{reason: "null", out: "null\n", want: []backend.Machine{}},
		{reason: "no output", out: "", want: []backend.Machine{}},
		{reason: "whitespace only", out: " \n\t", want: []backend.Machine{}},
		{reason: "one record with unknown fields", out: "[" + recordJSON + "]\n", want: []backend.Machine{ubuntuMachine}},
		{reason: "image names map back to CLI distros; missing config is fine",
			out: `[{"id":"x","name":"a1","image":{"distro":"archlinux","version":"current","arch":"amd64"},"state":"stopped"},
			      {"id":"y","name":"a2","image":{"distro":"rockylinux","version":"9","arch":"arm64"},"config":null,"state":"creating"}]`,
			want: []backend.Machine{
				{Name: "a1", ID: "x", State: backend.StateStopped, Distro: "arch", Version: "current", Arch: "amd64"},
				{Name: "a2", ID: "y", State: backend.StateCreating, Distro: "rocky", Version: "9", Arch: "arm64"},
			}},
		{reason: "an object is not a list", out: `{"name":"x"}`, wantErr: true},
		{reason: "truncated json", out: `[{"name":`, wantErr: true},
		{reason: "text output is not json", out: "ubuntu  running  ubuntu  noble  arm64\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseList([]byte(tt.out))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: ParseList error = %v, want error %v", tt.reason, err, tt.wantErr)
			continue
		}
		if d := diff(tt.want, got); !tt.wantErr && d != "" {
			t.Errorf("%s: ParseList %s", tt.reason, d)
		}
	}
}

func TestParseInfo(t *testing.T) {
	withIP := ubuntuMachine
	withIP.IP4, withIP.IP6 = "192.168.138.7", "fd07:b51a:cc66:0:a617:db5e:ab7:e9f1"
	withIP.DiskBytes = 847974400
	stopped := backend.Machine{
		Name: "ubuntu", ID: "01KHVDCW7HTAGRPMB823KADP9B", State: backend.StateStopped,
		Distro: "ubuntu", Version: "questing", Arch: "arm64", User: "rexfordmachu", Created: ubuntuCreated,
		DiskBytes: 847974400,
	}
	tests := []struct {
		reason  string
		out     string
		want    backend.Machine
		wantErr bool
	}{
		{reason: "2.x wrapper with addresses",
			out:  `{"record":` + recordJSON + `,"disk_size":847974400,"ip4":"192.168.138.7","ip6":"fd07:b51a:cc66:0:a617:db5e:ab7:e9f1"}`,
			want: withIP},
		{reason: "2.2 sample from a real machine: stopped, no ip, no variant",
			out:  `{"record":{"id":"01KHVDCW7HTAGRPMB823KADP9B","name":"ubuntu","state":"stopped","image":{"distro":"ubuntu","version":"questing","arch":"arm64"},"config":{"isolated":false,"isolate_network":false,"default_username":"rexfordmachu"}},"disk_size":847974400}`,
			want: stopped},
		{reason: "wrapper with null disk size",
			out:  `{"record":` + recordJSON + `,"disk_size":null}`,
			want: ubuntuMachine},
		{reason: "older bare record", out: recordJSON, want: ubuntuMachine},
		{reason: "bare record with a null record key is still bare",
			out:  `{"record":null,"id":"i","name":"n1","state":"running","image":{"distro":"void"}}`,
			want: backend.Machine{Name: "n1", ID: "i", State: backend.StateRunning, Distro: "void"}},
		{reason: "unknown top-level fields in the wrapper",
			out:  `{"record":` + recordJSON + `,"disk_size":1,"ip4":"10.0.0.1","snapshots":[],"extra":{"a":1}}`,
			want: func() backend.Machine { m := ubuntuMachine; m.IP4, m.DiskBytes = "10.0.0.1", 1; return m }()},
		{reason: "a non-ULID id gives a zero creation time",
			out:  `{"record":{"id":"not-a-ulid","name":"n1","state":"running"}}`,
			want: backend.Machine{Name: "n1", ID: "not-a-ulid", State: backend.StateRunning}},
		{reason: "empty object", out: `{}`, wantErr: true},
		{reason: "wrapper with an empty record", out: `{"record":{},"ip4":"1.2.3.4"}`, wantErr: true},
		{reason: "null", out: `null`, wantErr: true},
		{reason: "array", out: `[` + recordJSON + `]`, wantErr: true},
		{reason: "no output", out: ``, wantErr: true},
		{reason: "record of the wrong type", out: `{"record":"ubuntu"}`, wantErr: true},
		{reason: "text output", out: "ID: 01K\nName: ubuntu\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseInfo([]byte(tt.out))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: ParseInfo error = %v, want error %v", tt.reason, err, tt.wantErr)
			continue
		}
		if d := diff(tt.want, got); !tt.wantErr && d != "" {
			t.Errorf("%s: ParseInfo %s", tt.reason, d)
		}
	}
}

func TestParseState(t *testing.T) {
	tests := []struct {
		in   string
		want backend.State
	}{
		{"creating", backend.StateCreating},
		{"provisioning", backend.StateProvisioning},
		{"starting", backend.StateStarting},
		{"running", backend.StateRunning},
		{"stopping", backend.StateStopping},
		{"stopped", backend.StateStopped},
		{"deleting", backend.StateDeleting},
		{"Running", backend.StateRunning},
		{" stopped ", backend.StateStopped},
		{"paused", backend.StateUnknown},
		{"frozen", backend.StateUnknown},
		{"unknown", backend.StateUnknown},
		{"", backend.StateUnknown},
	}
	for _, tt := range tests {
		if got := ParseState(tt.in); got != tt.want {
			t.Errorf("ParseState(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every state in a list record goes through ParseState.
	for _, s := range []string{"creating", "provisioning", "starting", "running", "stopping", "stopped", "deleting", "weird"} {
		ms, err := ParseList([]byte(`[{"name":"m1","state":"` + s + `"}]`))
		if err != nil {
			t.Fatal(err)
		}
		if want := ParseState(s); ms[0].State != want {
			t.Errorf("list state %q = %q, want %q", s, ms[0].State, want)
		}
	}
}

func TestULIDTime(t *testing.T) {
	tests := []struct {
		reason string
		id     string
		want   time.Time
	}{
		{"all zero ULID is the epoch", "00000000000000000000000000", time.UnixMilli(0).UTC()},
		{"one millisecond", "00000000010000000000000000", time.UnixMilli(1).UTC()},
		{"lower case is accepted", "01khvdcw7htagrpmb823kadp9b", ubuntuCreated},
		{"too short", "01KHVDCW7H", time.Time{}},
		{"overflowing first character", "80000000000000000000000000", time.Time{}},
		{"invalid character U", "01KHVDCW7HTAGRPMB823KADP9U", time.Time{}},
		{"empty", "", time.Time{}},
	}
	for _, tt := range tests {
		if got := ulidTime(tt.id); !got.Equal(tt.want) {
			t.Errorf("%s: ulidTime(%q) = %v, want %v", tt.reason, tt.id, got, tt.want)
		}
	}
	if y := ubuntuCreated.Year(); y < 2025 || y > 2030 {
		t.Errorf("sample ULID decodes to year %d; the decoder is off", y)
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		reason   string
		out      string
		exitCode int
		want     Status
		wantErr  bool
	}{
		{"running exits 0", "Running\n", 0, StatusRunning, false},
		{"starting exits 2", "Starting\n", 2, StatusStarting, false},
		{"stopped exits 1", "Stopped\n", 1, StatusStopped, false},
		{"word wins over an odd exit code", "Stopped\n", 0, StatusStopped, false},
		{"case-insensitive word", "running", 0, StatusRunning, false},
		{"no word, exit 0", "", 0, StatusRunning, false},
		{"no word, exit 2", "", 2, StatusStarting, false},
		{"no word, exit 1", "", 1, StatusStopped, false},
		{"unknown word and code", "Exploded\n", 3, "", true},
		{"killed", "", -1, "", true},
	}
	for _, tt := range tests {
		got, err := ParseStatus([]byte(tt.out), tt.exitCode)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: ParseStatus error = %v, want error %v", tt.reason, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: ParseStatus = %q, want %q", tt.reason, got, tt.want)
		}
	}
}

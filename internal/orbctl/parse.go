package orbctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// record is orbctl's machine record (OrbStack's CLI reference,
// ../shared/reference/orbctl.md §2.1), as `list -f json` prints each
// element and `info -f json` prints it bare (before ≈1.10) or under
// "record". Unknown fields are ignored.
type record struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	Image struct {
		Distro  string `json:"distro"`
		Version string `json:"version"`
		Arch    string `json:"arch"`
		Variant string `json:"variant"`
	} `json:"image"`
	Config struct {
		Isolated        bool   `json:"isolated"`
		DefaultUsername string `json:"default_username"`
	} `json:"config"`
	Builtin bool `json:"builtin"`
}

// infoWrapper is `info -f json` since ≈1.10 (OrbStack's CLI reference,
// ../shared/reference/orbctl.md §2.2).
type infoWrapper struct {
	Record   json.RawMessage `json:"record"`
	DiskSize *int64          `json:"disk_size"`
	IP4      string          `json:"ip4"`
	IP6      string          `json:"ip6"`
}

// imageToDistro maps the image names orbctl records back to its CLI distro
// names; other distros use the same name for both.
var imageToDistro = map[string]string{
	"archlinux":  "arch",
	"voidlinux":  "void",
	"almalinux":  "alma",
	"rockylinux": "rocky",
}

// ParseList parses `orbctl list -f json`: an array of machine records.
// Empty output, "null" and "[]" all mean no machines; the result is never
// nil.
func ParseList(out []byte) ([]backend.Machine, error) {
	machines := []backend.Machine{}
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return machines, nil
	}
	var recs []record
	if err := json.Unmarshal(trimmed, &recs); err != nil {
		return nil, fmt.Errorf("parse orbctl list json: %w", err)
	}
	for _, r := range recs {
		machines = append(machines, r.machine())
	}
	return machines, nil
}

// ParseInfo parses `orbctl info NAME -f json` in both shapes: the wrapper
// {"record": {...}, "disk_size": N, "ip4": "...", "ip6": "..."} of OrbStack
// ≈1.10 and later, and the bare record printed before. IP4 and IP6 are empty
// when orbctl omits them (the machine is not running, or orbctl predates
// them).
func ParseInfo(out []byte) (backend.Machine, error) {
	trimmed := bytes.TrimSpace(out)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		return backend.Machine{}, fmt.Errorf("parse orbctl info json: %w", err)
	}
	if top == nil {
		return backend.Machine{}, fmt.Errorf("parse orbctl info json: no machine in %q", truncate(string(trimmed), 200))
	}
	var w infoWrapper
	recJSON := trimmed
	if raw, ok := top["record"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		if err := json.Unmarshal(trimmed, &w); err != nil {
			return backend.Machine{}, fmt.Errorf("parse orbctl info json: %w", err)
		}
		recJSON = w.Record
	}
	var r record
	if err := json.Unmarshal(recJSON, &r); err != nil {
		return backend.Machine{}, fmt.Errorf("parse orbctl info json record: %w", err)
	}
	if r.Name == "" && r.ID == "" {
		return backend.Machine{}, fmt.Errorf("parse orbctl info json: record has neither name nor id in %q", truncate(string(trimmed), 200))
	}
	m := r.machine()
	m.IP4, m.IP6 = w.IP4, w.IP6
	if w.DiskSize != nil {
		m.DiskBytes = *w.DiskSize
	}
	return m, nil
}

// address is where the host reaches m: its IPv4 address, else the name
// OrbStack's DNS gives every machine, NAME.orb.local.
func address(m backend.Machine) string {
	if m.IP4 != "" {
		return m.IP4
	}
	return hostname(m.Name)
}

// hostname is the name OrbStack's DNS gives machine name, from the Mac and
// from other machines (OrbStack's CLI reference, §3.4).
func hostname(name string) string { return name + ".orb.local" }

func (r record) machine() backend.Machine {
	distro := r.Image.Distro
	if d, ok := imageToDistro[distro]; ok {
		distro = d
	}
	return backend.Machine{
		Name:    r.Name,
		ID:      r.ID,
		State:   ParseState(r.State),
		Distro:  distro,
		Version: r.Image.Version,
		Arch:    r.Image.Arch,
		User:    r.Config.DefaultUsername,
		Created: ulidTime(r.ID),
	}
}

// ParseState maps orbctl's state names onto [backend.State]; anything other
// than the seven states orbctl knows is [backend.StateUnknown].
func ParseState(s string) backend.State {
	switch st := backend.State(strings.ToLower(strings.TrimSpace(s))); st {
	case backend.StateCreating, backend.StateProvisioning, backend.StateStarting,
		backend.StateRunning, backend.StateStopping, backend.StateStopped, backend.StateDeleting:
		return st
	}
	return backend.StateUnknown
}

// crockford is the ULID alphabet.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ulidTime returns the creation time encoded in a machine ID: orbctl makes
// IDs with ulid.Make() at create (and clone) time, whose first 10
// characters are the milliseconds since the Unix epoch. It returns the zero
// time for anything that is not a ULID.
func ulidTime(id string) time.Time {
	if len(id) != 26 || id[0] > '7' {
		return time.Time{}
	}
	var ms int64
	for i := 0; i < 10; i++ {
		d := strings.IndexByte(crockford, upper(id[i]))
		if d < 0 {
			return time.Time{}
		}
		ms = ms<<5 | int64(d)
	}
	for i := 10; i < 26; i++ {
		if strings.IndexByte(crockford, upper(id[i])) < 0 {
			return time.Time{}
		}
	}
	return time.UnixMilli(ms).UTC()
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// Status is OrbStack's own state as `orbctl status` reports it.
type Status string

// The states `orbctl status` prints, with exit codes 0, 2 and 1.
const (
	StatusRunning  Status = "Running"
	StatusStarting Status = "Starting"
	StatusStopped  Status = "Stopped"
)

// ParseStatus reads `orbctl status`: the word it prints (Running, Starting,
// Stopped) and, when the word is not one of those, its exit code (0, 2, 1).
func ParseStatus(stdout []byte, exitCode int) (Status, error) {
	word := strings.TrimSpace(string(stdout))
	for _, s := range []Status{StatusRunning, StatusStarting, StatusStopped} {
		if strings.EqualFold(word, string(s)) {
			return s, nil
		}
	}
	switch exitCode {
	case 0:
		return StatusRunning, nil
	case 2:
		return StatusStarting, nil
	case 1:
		return StatusStopped, nil
	}
	return "", fmt.Errorf("parse orbctl status: unexpected output %q with exit code %d", truncate(word, 200), exitCode)
}

package incus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// UserConfigKey is the instance config key where the driver records the
// machine's default user (absent means root).
const UserConfigKey = "user.orbtest.user"

// instanceJSON is the part of an api.InstanceFull that the driver reads.
type instanceJSON struct {
	Name         string            `json:"name"`
	Status       string            `json:"status"`
	Type         string            `json:"type"`
	Architecture string            `json:"architecture"`
	Config       map[string]string `json:"config"`
	Expanded     map[string]string `json:"expanded_config"` // config with profiles applied
	CreatedAt    time.Time         `json:"created_at"`
	State        *struct {
		Status string `json:"status"`
		Disk   map[string]struct {
			Usage int64 `json:"usage"`
		} `json:"disk"`
		Network map[string]struct {
			Addresses []struct {
				Family  string `json:"family"`
				Address string `json:"address"`
				Scope   string `json:"scope"`
			} `json:"addresses"`
		} `json:"network"`
	} `json:"state"`
}

// ParseList parses the output of "incus list --format json" into machines,
// sorted by name.
func ParseList(out []byte) ([]backend.Machine, error) {
	var raw []instanceJSON
	if err := json.Unmarshal(bytes.TrimSpace(out), &raw); err != nil {
		return nil, fmt.Errorf("incus: parse instance list: %w", err)
	}
	ms := make([]backend.Machine, 0, len(raw))
	for _, in := range raw {
		if in.Name == "" {
			return nil, fmt.Errorf("incus: parse instance list: instance without a name")
		}
		ms = append(ms, in.machine())
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms, nil
}

func (in instanceJSON) machine() backend.Machine {
	cfg := in.Expanded
	if len(cfg) == 0 {
		cfg = in.Config
	}
	m := backend.Machine{
		Name:    in.Name,
		ID:      cfg["volatile.uuid"],
		State:   MapStatus(in.Status),
		Distro:  strings.ToLower(cfg["image.os"]),
		Version: cfg["image.release"],
		Arch:    DebianArch(in.Architecture),
		User:    cfg[UserConfigKey],
		Created: in.CreatedAt,
	}
	if m.User == "" {
		m.User = "root"
	}
	if in.State != nil {
		m.DiskBytes = in.State.Disk["root"].Usage
	}
	if m.Arch == "" {
		m.Arch = DebianArch(cfg["image.architecture"])
	}
	if in.State != nil && m.State == backend.StateRunning {
		m.IP4 = globalAddress(in, "inet")
		m.IP6 = globalAddress(in, "inet6")
	}
	m.Address = m.IP4
	return m
}

// globalAddress is the first global address of family on eth0, or else on
// the other interfaces in name order (never lo).
func globalAddress(in instanceJSON, family string) string {
	names := make([]string, 0, len(in.State.Network))
	for n := range in.State.Network {
		if n != "eth0" && n != "lo" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if _, ok := in.State.Network["eth0"]; ok {
		names = append([]string{"eth0"}, names...)
	}
	for _, n := range names {
		for _, a := range in.State.Network[n].Addresses {
			if a.Family == family && a.Scope == "global" && a.Address != "" {
				return a.Address
			}
		}
	}
	return ""
}

// MapStatus maps an Incus instance status to a backend.State. Frozen and
// Error, which have no neutral equivalent, become StateUnknown.
func MapStatus(status string) backend.State {
	switch strings.ToLower(status) {
	case "running", "ready":
		return backend.StateRunning
	case "stopped":
		return backend.StateStopped
	case "starting", "thawed":
		return backend.StateStarting
	case "stopping", "freezing":
		return backend.StateStopping
	case "pending", "created":
		return backend.StateCreating
	}
	return backend.StateUnknown
}

// Image is one entry of "incus image list --format json".
type Image struct {
	Fingerprint  string
	Architecture string // Incus name: x86_64, aarch64
	Type         string // "container" or "virtual-machine"
	Aliases      []string
	OS, Release  string // properties.os, properties.release
}

// ParseImages parses the output of "incus image list --format json".
func ParseImages(out []byte) ([]Image, error) {
	var raw []struct {
		Fingerprint  string `json:"fingerprint"`
		Architecture string `json:"architecture"`
		Type         string `json:"type"`
		Aliases      []struct {
			Name string `json:"name"`
		} `json:"aliases"`
		Properties map[string]string `json:"properties"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &raw); err != nil {
		return nil, fmt.Errorf("incus: parse image list: %w", err)
	}
	imgs := make([]Image, 0, len(raw))
	for _, r := range raw {
		img := Image{
			Fingerprint:  r.Fingerprint,
			Architecture: r.Architecture,
			Type:         r.Type,
			OS:           r.Properties["os"],
			Release:      r.Properties["release"],
		}
		for _, a := range r.Aliases {
			img.Aliases = append(img.Aliases, a.Name)
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// ParseImageFingerprint returns the fingerprint in the output of "incus
// image info", or "" when it has none.
func ParseImageFingerprint(out []byte) string {
	for _, line := range strings.Split(string(out), "\n") {
		if fp, ok := strings.CutPrefix(strings.TrimSpace(line), "Fingerprint:"); ok {
			return strings.TrimSpace(fp)
		}
	}
	return ""
}

// Version is the output of "incus version".
type Version struct {
	Client string
	Server string // "" when the server is unreachable
}

// ParseVersion parses the "Client version: X" and "Server version: Y" lines
// of "incus version", for diagnostics (Probe asks the server itself). An
// unreachable server leaves Server empty.
func ParseVersion(out []byte) (Version, error) {
	var v Version
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "Client version":
			v.Client = val
		case "Server version":
			if val != "unreachable" {
				v.Server = val
			}
		}
	}
	if v.Client == "" {
		return v, fmt.Errorf("incus: parse version: no client version in %q", strings.TrimSpace(string(out)))
	}
	return v, nil
}

// ServerInfo is the part of "incus query /1.0" that the driver reads.
type ServerInfo struct {
	APIExtensions []string `json:"api_extensions"`
	APIStatus     string   `json:"api_status"`
	APIVersion    string   `json:"api_version"`
	Auth          string   `json:"auth"`
	Environment   struct {
		Architectures []string `json:"architectures"`
		Driver        string   `json:"driver"`
		Server        string   `json:"server"`
		ServerName    string   `json:"server_name"`
		ServerVersion string   `json:"server_version"`
		Clustered     bool     `json:"server_clustered"`
		Storage       string   `json:"storage"`
		KernelVersion string   `json:"kernel_version"`
		Project       string   `json:"project"`
	} `json:"environment"`
}

// HasExtension reports whether the server announces API extension ext.
func (s ServerInfo) HasExtension(ext string) bool {
	for _, e := range s.APIExtensions {
		if e == ext {
			return true
		}
	}
	return false
}

// ParseServerInfo parses the JSON printed by "incus query /1.0".
func ParseServerInfo(out []byte) (ServerInfo, error) {
	var s ServerInfo
	if err := json.Unmarshal(bytes.TrimSpace(out), &s); err != nil {
		return s, fmt.Errorf("incus: parse server info: %w", err)
	}
	if s.Environment.ServerVersion == "" {
		return s, fmt.Errorf("incus: parse server info: no server version (untrusted client?)")
	}
	return s, nil
}

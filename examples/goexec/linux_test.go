//go:build linux

package goexec_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestPID1IsSystemd(t *testing.T) {
	linuxOnly(t)
	comm, err := os.ReadFile("/proc/1/comm")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(comm)); got != "systemd" {
		t.Errorf("PID 1 is %q, want systemd", got)
	}
}

// TestCgroupOfThisProcess reads the process's cgroups, on the unified
// hierarchy (cgroup v2) or the legacy one, and finds its memory
// controller's files under /sys/fs/cgroup.
func TestCgroupOfThisProcess(t *testing.T) {
	linuxOnly(t)
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var mem string // the directory of this process's memory cgroup
	for line := range strings.Lines(string(self)) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 {
			t.Fatalf("bad line %q in /proc/self/cgroup", line)
		}
		switch {
		case f[0] == "0" && f[1] == "": // unified
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				mem = filepath.Join("/sys/fs/cgroup", f[2])
			}
		case strings.Contains(","+f[1]+",", ",memory,"): // legacy
			mem = filepath.Join("/sys/fs/cgroup/memory", f[2])
		}
	}
	if mem == "" {
		t.Fatalf("no memory cgroup in /proc/self/cgroup:\n%s", self)
	}
	if _, err := os.Stat(mem); err != nil {
		t.Errorf("this process's memory cgroup: %v", err)
	}
}

// TestNetlinkListsLoopback asks the kernel for its links over a netlink
// route socket (RTM_GETLINK) and finds lo among them.
func TestNetlinkListsLoopback(t *testing.T) {
	linuxOnly(t)
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWLINK {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range attrs {
			if a.Attr.Type == syscall.IFLA_IFNAME {
				names = append(names, string(bytes.TrimRight(a.Value, "\x00")))
			}
		}
	}
	if !strings.Contains(" "+strings.Join(names, " ")+" ", " lo ") {
		t.Errorf("links %q have no lo", names)
	}
}

func TestTestdataIsThere(t *testing.T) {
	linuxOnly(t)
	b, err := os.ReadFile(filepath.Join("testdata", "motd.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "motd of the goexec example\n" {
		t.Errorf("testdata/motd.txt = %q", b)
	}
}

// TestRootChownsAFile needs root: chown to another user is CAP_CHOWN.
func TestRootChownsAFile(t *testing.T) {
	linuxOnly(t)
	if os.Geteuid() != 0 {
		t.Fatalf("euid %d, want root (orbtest exec runs as -user root by default)", os.Geteuid())
	}
	p := filepath.Join("/etc", "orbtest-goexec-check")
	if err := os.WriteFile(p, []byte("root was here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	if err := os.Chown(p, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 4242 {
		t.Errorf("owner %d after chown, want 4242", st.Uid)
	}
}

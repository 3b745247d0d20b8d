package fakeorbctl

import (
	"fmt"
	"os"
	"text/tabwriter"
)

// infoJSON is OrbStack's ContainerInfo wrapper (info -f json since ≈1.10).
type infoJSON struct {
	Record   *Record `json:"record"`
	DiskSize *uint64 `json:"disk_size"`
	IP4      string  `json:"ip4,omitempty"`
	IP6      string  `json:"ip6,omitempty"`
}

// The fake runs machines on the host, so the host loopback addresses are the
// honest answer to "where does this machine listen".
const (
	fakeIP4 = "127.0.0.1"
	fakeIP6 = "::1"
)

func checkFormat(f string) error {
	switch f {
	case "", "text", "json":
		return nil
	}
	return fmt.Errorf("invalid format: %s", f)
}

func cmdList(e *env, c *command, p *parsedFlags) int {
	format := p.str("format")
	if err := checkFormat(format); err != nil {
		return e.usageErr(c, err.Error())
	}
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	rs, err := e.st.records()
	if err != nil {
		return e.fail(err)
	}
	shown := []*Record{} // "[]", never "null"
	for _, r := range rs {
		if !r.Builtin && (!p.bool("running") || r.State == stateRunning) {
			shown = append(shown, r)
		}
	}
	if p.bool("quiet") {
		for _, r := range shown {
			fmt.Fprintln(e.stdout, r.Name)
		}
		return 0
	}
	if format == "json" {
		e.stdout.Write(marshalJSON(shown))
		return 0
	}
	withSize, withIP := e.ver.atLeast(1, 10, 0), e.ver.atLeast(1, 11, 3)
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	if f, ok := e.stdout.(*os.File); ok && isTerminal(f) {
		header, dashes := "NAME\tSTATE\tDISTRO\tVERSION\tARCH", "----\t-----\t------\t-------\t----"
		if withSize {
			header, dashes = header+"\tSIZE", dashes+"\t----"
		}
		if withIP {
			header, dashes = header+"\tIP", dashes+"\t--"
		}
		fmt.Fprintln(w, header)
		fmt.Fprintln(w, dashes)
	}
	for _, r := range shown {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.Name, r.State, r.Image.Distro, r.Image.Version, r.Image.Arch)
		if withSize {
			line += "\t" + byteCountSI(int64(diskSize(e.st.rootDir(r.Name))))
		}
		if withIP {
			ip := ""
			if r.State == stateRunning {
				ip = fakeIP4
			}
			line += "\t" + ip
		}
		fmt.Fprintln(w, line)
	}
	w.Flush()
	return 0
}

func cmdInfo(e *env, c *command, p *parsedFlags) int {
	format := p.str("format")
	if err := checkFormat(format); err != nil {
		return e.usageErr(c, err.Error())
	}
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	r, err := e.st.byKey(p.args[0])
	if err != nil {
		return e.fail(err)
	}
	size := diskSize(e.st.rootDir(r.Name))
	info := infoJSON{Record: r, DiskSize: &size}
	if r.State == stateRunning && e.ver.atLeast(1, 11, 3) {
		info.IP4, info.IP6 = fakeIP4, fakeIP6
	}
	if format == "json" {
		bare := !e.ver.atLeast(1, 10, 0)
		switch os.Getenv(EnvInfoShape) {
		case "bare":
			bare = true
		case "wrapper":
			bare = false
		}
		if bare {
			e.stdout.Write(marshalJSON(r))
		} else {
			e.stdout.Write(marshalJSON(info))
		}
		return 0
	}
	fmt.Fprintf(e.stdout, "ID: %s\nName: %s\nState: %s\n\n", r.ID, r.Name, r.State)
	fmt.Fprintf(e.stdout, "Distro: %s\nVersion: %s\nArchitecture: %s\n", r.Image.Distro, r.Image.Version, r.Image.Arch)
	if e.ver.atLeast(1, 10, 0) {
		fmt.Fprintf(e.stdout, "Disk usage: %s\n", byteCountSI(int64(size)))
	}
	if info.IP4 != "" {
		fmt.Fprintf(e.stdout, "IPv4: %s\nIPv6: %s\n", info.IP4, info.IP6)
	}
	return 0
}

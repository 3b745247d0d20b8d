package runstate

import (
	"github.com/orbtest/go-orbtest/internal/env"

	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// ProcessStart returns an opaque token for when process pid started, so
// that a reused pid is not mistaken for the process that owned a run. It
// returns "" when it cannot tell.
func ProcessStart(pid int) string {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return ""
		}
		// Field 22 (starttime) counts from after the ")" that ends comm.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 19 {
				return f[19]
			}
		}
		return ""
	}
	out, err := exec.Command("ps", "-o", "lstart=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// processName returns the executable name of process pid.
func processName(pid int) string {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	out, err := exec.Command("ps", "-o", "comm=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return ""
	}
	return filepath.Base(strings.TrimSpace(string(out)))
}

// Owner returns the process whose life is the run's: the process
// ORBTEST_RUN_OWNER names (for wrappers that run test binaries themselves),
// else the go command when this process is a test binary that `go test`
// started (so every package process of one `go test ./...` shares a run),
// else this process.
func Owner() (pid int, start string) {
	if v, err := strconv.Atoi(env.Get(env.RunOwner)); err == nil && v > 0 {
		return v, ProcessStart(v)
	}
	if pp := os.Getppid(); processName(pp) == "go" {
		return pp, ProcessStart(pp)
	}
	return os.Getpid(), ProcessStart(os.Getpid())
}

// Alive reports whether the process pid that started at start is still
// running.
func Alive(pid int, start string) bool {
	if !alive(pid) {
		return false
	}
	return start == "" || ProcessStart(pid) == start
}

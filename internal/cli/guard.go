package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The guard is a /bin/sh script that runs every user command in a machine,
// on both backends, because neither incus exec nor orbctl run can be
// trusted with one directly: incus can drop the tail of a stream when the
// command exits right after writing it (lxc/lxc#4282), incus runs in /
// when --cwd is missing, and neither ends the guest process when its
// client dies. Its protocol, with a random token per call:
//
//   - It starts in the machine's / and cds to its DIR argument, a path
//     relative to / (so that it means the same on the fake orbctl, whose
//     machines are directories). A DIR that cannot be entered ends the
//     guard with an end record "nodir" or "noaccess" instead of running
//     the command; in home mode it stays in / instead, as login does.
//   - It keeps its own stderr for its records (the shell's "Killed" for a
//     command a signal ended goes nowhere) and runs the command in a
//     session of its own (setsid; without setsid in the machine, in the
//     guard's). The command's process, a subshell of the guard, first
//     writes one start record on stderr naming its pid and the guard's
//     (so it is the first thing on stderr), then execs setsid, which makes
//     it the leader of a new session and process group and execs the
//     program: the pid stays the command's throughout. A program that
//     cannot be found or run is left to the shell, whose error names it
//     (exit 127 or 126).
//   - When the command exits it writes an end record with the exit status
//     (128+N for signal N) on stdout and on stderr, and waits for the host
//     to say it has read both: the host closes the guard's stdin (no-stdin
//     mode, where the command reads /dev/null) or, when the command reads
//     the caller's stdin, signals the guard with USR1 from a second call
//     ([AckArgv]); it gives up after GuardHold seconds.
//   - To cancel, the host runs [KillArgv] as root: TERM to the group (or,
//     when the start record came before setsid made it, to the process,
//     which has not started the program yet), KILL after the grace, then
//     the guard is released.
//
// A record is RS "orbtest:" TOKEN ":" KIND ":" FIELDS "\n"; it is written
// with one write(2) shorter than PIPE_BUF, so it is never split by other
// writers; the host strips records and passes the rest on byte for byte.
const guardScript = `t=$1 m=$2 d=$3; shift 3; s= x=
exec 4>&2 2>/dev/null
trap 'kill $w 2>/dev/null; exit $s' USR1
cd -- "$d" 2>/dev/null || case $m in
h*) ;;
*) if [ -d "$d" ]; then x=noaccess; else x=nodir; fi ;;
esac
k=pid c=; command -v setsid >/dev/null 2>&1 && k=group c=setsid
g() { read -r p _ </proc/self/stat; printf '\036orbtest:%s:start:%s:%s:%s\n' "$t" "$p" $$ $k >&4; command -v "$1" >/dev/null || c=; exec $c "$@" 2>&4 4>&-; }
if [ -n "$x" ]; then s=1
else case $m in *i) (g "$@") ;; *) (g "$@") </dev/null ;; esac; s=$?
fi
r=$s; [ -n "$x" ] && r=$x
printf '\036orbtest:%s:end:%s\n' "$t" "$r"; printf '\036orbtest:%s:end:%s\n' "$t" "$r" >&4
case $m in
*i) sleep ` + guardHold + ` </dev/null >/dev/null 2>&1 & w=$!; wait $w ;;
*) while read -r _; do :; done ;;
esac
exit $s`

// guardHold is how long, in seconds, a guard in stdin mode waits for the
// host's USR1 after its end records.
const guardHold = "30"

// killScript ends a guarded command: TERM to its process group (or to its
// process, when it has no group of its own, or not yet: a process that
// has not called setsid has not started the program either), then up to
// $4 tenths of a second for it to go, then KILL; then it releases the
// guard, whose pid is $3, when $5 is "i" (stdin mode; otherwise the
// host's closing of the guard's stdin releases it).
const killScript = `k=$1 p=$2 g=$3 n=$4
if [ "$k" = group ]; then
s() { kill -s $1 -- -$p 2>/dev/null || kill -s $1 -- $p 2>/dev/null; }
else
s() { kill -s $1 -- $p 2>/dev/null; }
fi
s TERM
i=0
while [ $i -lt $n ] && s 0; do sleep 0.1; i=$((i+1)); done
s KILL
[ "$5" = i ] && kill -s USR1 $g 2>/dev/null
exit 0`

// KillGrace is how long a canceled command has between TERM and KILL.
const KillGrace = 500 // milliseconds

// GuardToken returns a fresh random token for one guarded call.
func GuardToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// GuardArgv returns the guest argv that runs argv through the guard with
// token. dir is the command's absolute working directory in the machine;
// home says it is the user's home, which may be missing (the guard then
// stays in /); stdin says the command reads the caller's stdin. The
// backend must start the guard in the machine's /.
func GuardArgv(token, dir string, home, stdin bool, argv []string) []string {
	mode := "s"
	if home {
		mode = "h"
	}
	if stdin {
		mode += "i"
	}
	rel := "." + dir
	if dir == "" || dir == "/" {
		rel = "."
	}
	return append([]string{"/bin/sh", "-c", guardScript, "orbtest-exec", token, mode, rel}, argv...)
}

// KillArgv returns the guest argv, to run as root, that ends the command
// that start describes and then releases its guard.
func KillArgv(start Start, stdin bool) []string {
	mode := "n"
	if stdin {
		mode = "i"
	}
	return []string{"/bin/sh", "-c", killScript, "orbtest-kill", start.Kind,
		strconv.Itoa(start.PID), strconv.Itoa(start.Guard), strconv.Itoa(KillGrace / 100), mode}
}

// AckArgv returns the guest argv, to run as root, that tells a guard in
// stdin mode that the host has read both end records.
func AckArgv(start Start) []string {
	return []string{"/bin/sh", "-c", `kill -s USR1 "$1" 2>/dev/null; exit 0`, "orbtest-ack", strconv.Itoa(start.Guard)}
}

// Start is what a guard's start record says: the command's pid, whether
// it leads a process group of its own ("group") or not ("pid"), and the
// guard's pid.
type Start struct {
	Kind       string
	PID, Guard int
}

// parseStart reads the fields of a start record: "PID:GUARD:KIND".
func parseStart(fields string) (Start, bool) {
	parts := strings.Split(fields, ":")
	if len(parts) != 3 || (parts[2] != "group" && parts[2] != "pid") {
		return Start{}, false
	}
	pid, err1 := strconv.Atoi(parts[0])
	guard, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || pid <= 1 || guard <= 1 {
		return Start{}, false
	}
	return Start{Kind: parts[2], PID: pid, Guard: guard}, true
}

// demux is the writer a guarded stream goes through: it passes the
// command's bytes on to dst as they come, strips the guard's records and
// reports them. Bytes that could begin a record are held back until it is
// known that they do not; everything after the end record is dropped (the
// writes of background processes the command left). Safe for one writer.
type demux struct {
	prefix  []byte // RS "orbtest:" TOKEN ":"
	dst     io.Writer
	pending []byte
	onStart func(Start)
	onEnd   func(status string)
	ended   bool
	records int   // records seen
	n       int64 // bytes passed on
	err     error // the first error of dst, or a malformed record
}

func newDemux(token string, dst io.Writer, onStart func(Start), onEnd func(string)) *demux {
	if dst == nil {
		dst = io.Discard
	}
	return &demux{prefix: []byte("\x1eorbtest:" + token + ":"), dst: dst, onStart: onStart, onEnd: onEnd}
}

func (d *demux) Write(p []byte) (int, error) {
	n := len(p)
	if d.ended {
		return n, nil
	}
	d.pending = append(d.pending, p...)
	for !d.ended {
		i := bytes.Index(d.pending, d.prefix)
		if i < 0 {
			break
		}
		d.emit(d.pending[:i])
		nl := bytes.IndexByte(d.pending[i:], '\n')
		if nl < 0 {
			d.pending = d.pending[i:]
			return n, nil
		}
		d.record(string(d.pending[i+len(d.prefix) : i+nl]))
		d.pending = d.pending[i+nl+1:]
	}
	if d.ended {
		d.pending = nil
		return n, nil
	}
	keep := partialPrefix(d.pending, d.prefix)
	d.emit(d.pending[:len(d.pending)-keep])
	d.pending = append(d.pending[:0], d.pending[len(d.pending)-keep:]...)
	return n, nil
}

// record handles one record's text after the prefix: KIND ":" FIELDS.
func (d *demux) record(rec string) {
	d.records++
	kind, fields, _ := strings.Cut(rec, ":")
	switch kind {
	case "start":
		if s, ok := parseStart(fields); ok && d.onStart != nil {
			d.onStart(s)
			return
		}
	case "end":
		d.ended = true
		if d.onEnd != nil {
			d.onEnd(fields)
		}
		return
	}
	if d.err == nil {
		d.err = fmt.Errorf("malformed guard record %q", rec)
	}
}

func (d *demux) emit(b []byte) {
	if len(b) == 0 {
		return
	}
	d.n += int64(len(b))
	if d.err != nil {
		return
	}
	if _, err := d.dst.Write(b); err != nil {
		d.err = err
	}
}

// sawAny reports whether the stream carried a record of the guard.
func (d *demux) sawAny() bool { return d.records > 0 }

// partialPrefix is the length of the longest suffix of b that is a proper
// prefix of prefix.
func partialPrefix(b, prefix []byte) int {
	for k := min(len(b), len(prefix)-1); k > 0; k-- {
		if bytes.HasSuffix(b, prefix[:k]) {
			return k
		}
	}
	return 0
}

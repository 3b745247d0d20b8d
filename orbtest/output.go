package orbtest

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// ResultLimit bounds how much of each stream a [Result] keeps: 16 MiB.
const ResultLimit = 16 << 20

// lockedWriter serializes the writes of both streams of one command to
// writers that may be the same.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// lineWriter calls emit with each complete line written to it (without
// its newline); Flush emits what is left. Safe for one writer.
type lineWriter struct {
	emit    func(line string)
	partial []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		l.partial = append(l.partial, p[:i]...)
		l.emit(string(l.partial))
		l.partial = l.partial[:0]
		p = p[i+1:]
	}
	l.partial = append(l.partial, p...)
	return n, nil
}

// Flush emits a last line that had no newline.
func (l *lineWriter) Flush() {
	if len(l.partial) > 0 {
		l.emit(string(l.partial))
		l.partial = l.partial[:0]
	}
}

// lastLines keeps the last n lines given to it, for an error message.
type lastLines struct {
	mu    sync.Mutex
	n     int
	lines []string
}

func (l *lastLines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimRight(line, "\r"))
	if len(l.lines) > l.n {
		l.lines = l.lines[len(l.lines)-l.n:]
	}
}

func (l *lastLines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

package runstate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueueOrdersTicketsPerKey(t *testing.T) {
	r, err := OpenRun(t.TempDir(), "q1", RunInfo{OwnerPID: os.Getpid()})
	require.NoError(t, err)
	join := func(key string) *Ticket {
		var tk *Ticket
		require.NoError(t, r.WithLock(func(tx *Tx) (err error) { tk, err = tx.Join(key, 1); return err }))
		return tk
	}
	ahead := func(key string, tk *Ticket) int {
		var n int
		require.NoError(t, r.WithLock(func(tx *Tx) (err error) { n, err = tx.Ahead(key, tk); return err }))
		return n
	}

	assert.Equal(t, 0, ahead("k", nil), "empty queue")
	a, b, other, c := join("k"), join("k"), join("other"), join("k")
	assert.Equal(t, 0, ahead("k", a))
	assert.Equal(t, 1, ahead("k", b))
	assert.Equal(t, 2, ahead("k", c), "a ticket for another key does not count")
	assert.Equal(t, 3, ahead("k", nil), "a newcomer is behind everyone")
	assert.Equal(t, 0, ahead("other", other))
	assert.Equal(t, 1, ahead("other", nil))

	b.Leave()
	b.Leave()
	assert.Equal(t, 1, ahead("k", c), "a ticket given up no longer counts")
	var nilTicket *Ticket
	nilTicket.Leave()

	// A ticket whose holder died is no longer locked: it is skipped and removed.
	dir := filepath.Join(r.Dir, "queue")
	dead := filepath.Join(dir, "00000000000000000001-1-1~k")
	require.NoError(t, os.WriteFile(dead, nil, 0o644))
	assert.Equal(t, 1, ahead("k", c))
	assert.NoFileExists(t, dead)

	var three *Ticket
	require.NoError(t, r.WithLock(func(tx *Tx) (err error) { three, err = tx.Join("k", 3); return err }))
	assert.Equal(t, 2, ahead("k", three), "two tickets of one machine are ahead")
	assert.Equal(t, 5, ahead("k", nil), "a newcomer waits behind five machines: 1, 1 and 3")
	three.Leave()

	a.Leave()
	c.Leave()
	other.Leave()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

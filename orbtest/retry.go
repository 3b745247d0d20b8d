package orbtest

import "github.com/orbtest/go-orbtest/internal/backend"

// Lifecycle calls (create, start, delete) are retried after transient
// failures; user commands never are.
const lifecycleRetries = backend.LifecycleRetries

var (
	lifecycleBackoff = backend.LifecycleBackoff
	retry            = backend.Retry
)

// Package cli holds what the backend drivers (internal/orbctl and
// internal/incus) do alike around the command-line tool each one drives:
// finding the tool ([Find]), running one call under its operation's timeout
// ([Run]), wrapping a failed call with its error class ([Wrap]) and
// quoting a command line for a log ([Quote], [Join]). Each driver keeps
// only what is its own: its argv builders, its parsers and the rule table
// that reads its tool's error messages.
package cli

package cli

import "strings"

// Quote returns s as one word for a POSIX shell: unchanged when it holds
// only letters, digits and the characters -_./:=@%+, (and is not empty),
// otherwise in single quotes, with each single quote inside closed,
// escaped and reopened.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, unsafe) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join returns words as a POSIX shell command line, each one quoted by
// [Quote], for a person to copy from a log.
func Join(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

// unsafe reports whether c needs quoting in a shell word.
func unsafe(c rune) bool {
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:=@%+,", c))
}

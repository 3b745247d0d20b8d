// Package execpkg is what orbtest exec's tests run through go test -exec.
package execpkg

// Greeting returns a greeting for name.
func Greeting(name string) string {
	if name == "" {
		return "hello, nobody"
	}
	return "hello, " + name
}

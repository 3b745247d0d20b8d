// Command orbctl is the fake orbctl of package fakeorbctl; see its doc for
// the environment variables that configure it.
package main

import (
	"os"

	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
)

func main() {
	os.Exit(fakeorbctl.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

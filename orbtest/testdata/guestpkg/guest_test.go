// Package guestpkg is what GoTest's tests run in a machine.
package guestpkg

import (
	"os"
	"testing"
)

func TestOK(t *testing.T) {
	if _, err := os.Stat("guest_test.go"); err != nil {
		t.Fatalf("not in a copy of the package directory: %v", err)
	}
	t.Log("ok in the guest")
}

func TestBad(t *testing.T) { t.Error("guest says no") }

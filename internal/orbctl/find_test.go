package orbctl

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "orbctl")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "my-orbctl")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()

	tests := []struct {
		reason    string
		env       string
		path      string
		want      string
		wantClass error
	}{
		{reason: "PATH lookup", path: dir, want: exe},
		{reason: "env wins over PATH", env: other, path: dir, want: other},
		{reason: "env may name a program in PATH", env: "my-orbctl", path: dir, want: other},
		{reason: "env pointing nowhere", env: filepath.Join(empty, "orbctl"), path: dir, wantClass: backend.ErrUnavailable},
		{reason: "not in PATH", path: empty, wantClass: backend.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			t.Setenv(env.Orbctl, tt.env)
			t.Setenv("PATH", tt.path)
			got, err := Find()
			checkErr(t, tt.reason, err, tt.wantClass, "")
			if tt.wantClass == nil && got != tt.want {
				t.Errorf("Find() = %q, want %q", got, tt.want)
			}
		})
	}
}

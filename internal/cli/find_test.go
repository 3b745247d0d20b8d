package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	other := filepath.Join(dir, "my-tool")
	plain := filepath.Join(dir, "plain")
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{exe, 0o755}, {other, 0o755}, {plain, 0o644}} {
		if err := os.WriteFile(f.path, []byte("#!/bin/sh\n"), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	empty := t.TempDir()

	tests := []struct {
		reason  string
		env     string
		path    string
		chdir   string
		want    string
		wantMsg string // in the error; "" means success
	}{
		{reason: "PATH lookup", path: dir, want: exe},
		{reason: "the variable wins over PATH", env: other, path: dir, want: other},
		{reason: "the variable may name a program in PATH", env: "my-tool", path: dir, want: other},
		{reason: "a relative path comes back absolute", env: "./my-tool", path: empty, chdir: dir, want: other},
		{reason: "surrounding space is trimmed", env: " " + other + " ", path: empty, want: other},
		{reason: "the variable pointing nowhere", env: filepath.Join(empty, "tool"), path: dir,
			wantMsg: env.Orbctl + `="` + filepath.Join(empty, "tool") + `" is not an executable tool`},
		{reason: "the variable naming a file that is not executable", env: plain, path: dir, wantMsg: "is not an executable tool"},
		{reason: "the variable naming no program in PATH", env: "nosuch", path: dir, wantMsg: env.Orbctl + `="nosuch"`},
		{reason: "not in PATH", path: empty, wantMsg: "tool not found in PATH; install it, or set " + env.Orbctl + " to its path"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			t.Setenv(env.Orbctl, tt.env)
			t.Setenv("PATH", tt.path)
			if tt.chdir != "" {
				t.Chdir(tt.chdir)
			}
			got, err := Find("tool", env.Orbctl, "install it")
			if tt.wantMsg == "" {
				if err != nil || got != tt.want {
					t.Errorf("Find = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Find error = %v; want one wrapping %v and saying %q", err, backend.ErrUnavailable, tt.wantMsg)
			}
		})
	}
}

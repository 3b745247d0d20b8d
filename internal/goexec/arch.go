package goexec

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"path/filepath"
	"strings"
)

// ArchOf returns the machine architecture, in orbtest's names (amd64, arm64,
// i386), that runs an ELF binary built for machine m.
func ArchOf(m elf.Machine) (string, error) {
	switch m {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_386:
		return "i386", nil
	}
	return "", fmt.Errorf("the binary is for %s, which orbtest machines are not (amd64, arm64 or i386): build it for one of those with GOARCH", m)
}

// BinaryArch reads the ELF header of the binary at path and returns the
// architecture it needs. A file that is not ELF is an error that says to
// build with GOOS=linux.
func BinaryArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("test binary %q is not a Linux executable (%v): build it with GOOS=linux", path, err)
	}
	defer f.Close()
	a, err := ArchOf(f.Machine)
	if err != nil {
		return "", fmt.Errorf("test binary %q: %w", path, err)
	}
	return a, nil
}

// ImportPath returns the import path of the package whose test binary is
// at path, from the binary's build information ("example.com/pkg.test"
// names example.com/pkg), or, when it has none, the binary's base name
// without ".test".
func ImportPath(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".test")
	info, err := buildinfo.ReadFile(path)
	if err != nil || info.Path == "" || info.Path == "command-line-arguments.test" {
		return base
	}
	return strings.TrimSuffix(info.Path, ".test")
}

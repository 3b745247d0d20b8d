package goexec

import (
	"fmt"
	"path"
	"strings"
)

// Root is the directory in the machine under which a test binary runs.
const Root = "/tmp/orbtest-go"

// Layout is where one package's files go in the machine. Its paths are
// absolute slash paths.
type Layout struct {
	ImportPath string
	PkgDir     string // Root/src/IMPORTPATH: the binary's working directory
	Bin        string // Root/bin/NAME
	Out        string // Root/out
}

// NewLayout returns the layout of the package importPath whose test binary
// is called name (the base name of the host file). It refuses an import
// path that would leave Root/src.
func NewLayout(importPath, name string) (Layout, error) {
	ip := strings.Trim(importPath, "/")
	if ip == "" || path.Clean(ip) != ip || strings.HasPrefix(ip, "../") || ip == ".." || strings.ContainsAny(ip, "\x00\\") {
		return Layout{}, fmt.Errorf("bad import path %q for the package directory in the machine", importPath)
	}
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return Layout{}, fmt.Errorf("bad test binary name %q", name)
	}
	return Layout{
		ImportPath: ip,
		PkgDir:     path.Join(Root, "src", ip),
		Bin:        path.Join(Root, "bin", name),
		Out:        path.Join(Root, "out"),
	}, nil
}

// FromPkgDir returns guest path p relative to the package directory, as
// the binary, whose working directory that is, is given it.
func (l Layout) FromPkgDir(p string) string { return relSlash(l.PkgDir, p) }

// FromRoot returns guest path p relative to /, as the guard's working
// directory is given and the unpack and pack commands, which run in /, use.
func FromRoot(p string) string { return strings.TrimPrefix(path.Clean(p), "/") }

// relSlash returns target relative to base; both are clean absolute slash
// paths.
func relSlash(base, target string) string {
	b := strings.Split(strings.Trim(base, "/"), "/")
	t := strings.Split(strings.Trim(target, "/"), "/")
	i := 0
	for i < len(b) && i < len(t) && b[i] == t[i] {
		i++
	}
	var parts []string
	for range b[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, t[i:]...)
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

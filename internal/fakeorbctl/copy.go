package fakeorbctl

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// push and pull run "cp -rf SRC... DEST" in the machine with the default
// user's home as working directory (OrbStack's CLI reference,
// ../shared/reference/orbctl.md §1.9); the fake
// does the same copy on the host, streaming, keeping modes and symlinks.

// copyArgs splits push/pull arguments: one argument is a source copied to
// ".", more make the last one the destination.
func copyArgs(args []string) (srcs []string, dest string) {
	if len(args) == 1 {
		return args, "."
	}
	return args[:len(args)-1], args[len(args)-1]
}

// macRelative maps the Mac home directory and paths below it to "." paths
// (relative to the Linux home), as push does for its destination and pull
// for its sources.
func macRelative(p string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return p
	}
	if p == home {
		return "."
	}
	if strings.HasPrefix(p, home+"/") {
		return "." + strings.TrimPrefix(p, home)
	}
	return p
}

// pathPair is a path as the user wrote it and as the host sees it.
type pathPair struct{ shown, real string }

func cmdPush(e *env, _ *command, p *parsedFlags) int {
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	srcs, dest := copyArgs(p.args)
	r, err := e.machineFor(p.str("machine"))
	if err != nil {
		return e.fail(err)
	}
	root := e.st.rootDir(r.Name)
	home := homeOf(root, r.Config.DefaultUsername)
	dest = macRelative(dest)
	var from []pathPair
	for _, s := range srcs {
		abs, err := filepath.Abs(s)
		if err != nil {
			return e.fail(err)
		}
		from = append(from, pathPair{s, abs})
	}
	return copyRF(e, root, from, pathPair{dest, inRoot(root, home, dest)})
}

func cmdPull(e *env, _ *command, p *parsedFlags) int {
	if err := e.ensureVM(); err != nil {
		return e.fail(err)
	}
	srcs, dest := copyArgs(p.args)
	r, err := e.machineFor(p.str("machine"))
	if err != nil {
		return e.fail(err)
	}
	root := e.st.rootDir(r.Name)
	home := homeOf(root, r.Config.DefaultUsername)
	var from []pathPair
	for _, s := range srcs {
		s = macRelative(s)
		from = append(from, pathPair{s, inRoot(root, home, s)})
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return e.fail(err)
	}
	return copyRF(e, root, from, pathPair{dest, abs})
}

// copyRF is "cp -rf": into dest if it is a directory, else onto dest (one
// source only). Errors go to stderr GNU-style with machine paths shown
// relative to the machine; the exit code is 1 if anything failed.
func copyRF(e *env, root string, srcs []pathPair, dest pathPair) int {
	fi, err := os.Stat(dest.real)
	destDir := err == nil && fi.IsDir()
	if len(srcs) > 1 && !destDir {
		fmt.Fprintf(e.stderr, "cp: target '%s' is not a directory\n", dest.shown)
		return 1
	}
	code := 0
	for _, s := range srcs {
		if _, err := os.Lstat(s.real); err != nil {
			fmt.Fprintf(e.stderr, "cp: cannot stat '%s': %s\n", s.shown, errText(err))
			code = 1
			continue
		}
		target := dest.real
		if destDir {
			target = filepath.Join(dest.real, filepath.Base(s.real))
		}
		if err := copyEntry(s.real, target); err != nil {
			fmt.Fprintf(e.stderr, "cp: %s\n", strings.ReplaceAll(err.Error(), root, ""))
			code = 1
		}
	}
	return code
}

// errText is an OS error as GNU coreutils prints it: "No such file or directory".
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// copyTree copies a directory tree to a new path (clone).
func copyTree(src, dst string) error { return copyEntry(src, dst) }

// copyEntry copies src (not following a symlink at src) to dst.
func copyEntry(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("cannot stat '%s': %s", src, errText(err))
	}
	dfi, derr := os.Lstat(dst)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return fmt.Errorf("cannot read symbolic link '%s': %s", src, errText(err))
		}
		if derr == nil {
			os.Remove(dst)
		}
		if err := os.Symlink(target, dst); err != nil {
			return fmt.Errorf("cannot create symbolic link '%s': %s", dst, errText(err))
		}
		return nil
	case fi.IsDir():
		if derr == nil && !dfi.IsDir() {
			return fmt.Errorf("cannot overwrite non-directory '%s' with directory '%s'", dst, src)
		}
		if rel, err := filepath.Rel(src, dst); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && rel != "." {
			return fmt.Errorf("cannot copy a directory, '%s', into itself, '%s'", src, dst)
		}
		if derr != nil {
			if err := os.Mkdir(dst, 0o700); err != nil {
				return fmt.Errorf("cannot create directory '%s': %s", dst, errText(err))
			}
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return fmt.Errorf("cannot access '%s': %s", src, errText(err))
		}
		var firstErr error
		for _, ent := range entries {
			if err := copyEntry(filepath.Join(src, ent.Name()), filepath.Join(dst, ent.Name())); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if err := os.Chmod(dst, fi.Mode()&(fs.ModePerm|fs.ModeSticky|fs.ModeSetuid|fs.ModeSetgid)); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("preserving permissions for '%s': %s", dst, errText(err))
		}
		return firstErr
	case fi.Mode().IsRegular():
		if derr == nil && dfi.IsDir() {
			return fmt.Errorf("cannot overwrite directory '%s' with non-directory", dst)
		}
		return copyFile(src, dst, fi.Mode().Perm())
	default:
		return nil // sockets, devices, fifos: not copied
	}
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("cannot open '%s' for reading: %s", src, errText(err))
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode|0o200)
	if err != nil && errors.Is(err, fs.ErrPermission) {
		os.Remove(dst) // -f: remove and retry
		out, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode|0o200)
	}
	if err != nil {
		return fmt.Errorf("cannot create regular file '%s': %s", dst, errText(err))
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("error writing '%s': %s", dst, errText(err))
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("error writing '%s': %s", dst, errText(err))
	}
	if err := os.Chmod(dst, mode); err != nil {
		return fmt.Errorf("preserving permissions for '%s': %s", dst, errText(err))
	}
	return nil
}

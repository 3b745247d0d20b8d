package goexec

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Pack writes to w the tar archive that, unpacked in Root, lays out l: the
// package directory hostPkgDir at src/IMPORTPATH (without .git and nested
// modules, directories with a go.mod of their own), the binary hostBin at
// bin/NAME, and under out/ a directory for each directory output, holding
// its host contents when the binary reads them.
func Pack(w io.Writer, hostPkgDir, hostBin string, l Layout, outs []Output) error {
	tw := tar.NewWriter(w)
	if err := addDir(tw, hostPkgDir, FromRootOf(l.PkgDir), true); err != nil {
		return fmt.Errorf("copy package directory %q: %w", hostPkgDir, err)
	}
	if err := addFile(tw, hostBin, FromRootOf(l.Bin), 0o755); err != nil {
		return fmt.Errorf("copy test binary: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "out/", Mode: 0o777}); err != nil {
		return err
	}
	for _, o := range outs {
		if !o.Dir {
			continue
		}
		name := "out/" + o.Key
		if o.pushes() {
			if _, err := os.Stat(o.Host); err == nil {
				if err := addDir(tw, o.Host, name, false); err != nil {
					return fmt.Errorf("copy %s %q: %w", o.Flag, o.Host, err)
				}
				continue
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o777}); err != nil {
			return err
		}
	}
	return tw.Close()
}

// FromRootOf returns guest path p (under Root) relative to Root, as the
// archive names it.
func FromRootOf(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, Root), "/") }

// addDir adds the tree at dir as name. With pkg, .git and nested modules
// are left out.
func addDir(tw *tar.Writer, dir, name string, pkg bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		tname := path.Join(name, filepath.ToSlash(rel))
		if pkg && d.IsDir() && p != dir {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: tname + "/", Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: tname, Linkname: target, Mode: 0o777, ModTime: fi.ModTime()})
		case fi.Mode().IsRegular():
			return addFile(tw, p, tname, int64(fi.Mode().Perm()))
		}
		return nil // sockets, devices, pipes: not copied
	})
}

func addFile(tw *tar.Writer, host, name string, mode int64) error {
	f, err := os.Open(host)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// Unpack reads the archive of Layout.Out that `tar -cf - -C OUT .` writes
// and puts each output's file, or the contents of each directory output,
// at its host path. Entries of no output are ignored; a name that would
// leave its output is an error.
func Unpack(r io.Reader, outs []Output) error {
	byKey := map[string]Output{}
	for _, o := range outs {
		byKey[o.Key] = o
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read outputs: %w", err)
		}
		name := strings.TrimPrefix(path.Clean(strings.TrimPrefix(h.Name, "./")), "./")
		key, rest, _ := strings.Cut(name, "/")
		o, ok := byKey[key]
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, "../") || rest == ".." {
			return fmt.Errorf("read outputs: entry %q leaves its directory", h.Name)
		}
		dst := o.Host
		if rest != "" {
			if !o.Dir {
				continue
			}
			dst = filepath.Join(o.Host, filepath.FromSlash(rest))
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if o.Dir && rest == "" {
				return fmt.Errorf("read outputs: %s %q is a file in the machine, not a directory", o.Flag, o.Host)
			}
			if err := writeFile(dst, tr, h.FileInfo().Mode().Perm()); err != nil {
				return fmt.Errorf("bring back %s: %w", o.Flag, err)
			}
		}
	}
}

func writeFile(dst string, r io.Reader, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

package runstate

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Private makes stateDir the private directory of this user that the
// state directory must be, creating it (and its parents) 0700 when it is
// missing. A directory of this user that others may read (0755) is made
// 0700; one that another user owns, or that another user may write, is
// refused with an error that says what to do, since whoever can write it
// can forge records and locks. Files in it are created 0600.
func Private(stateDir string) error {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("orbtest: state directory %s: %w", stateDir, err)
	}
	fi, err := os.Lstat(stateDir)
	if err != nil {
		return fmt.Errorf("orbtest: state directory %s: %w", stateDir, err)
	}
	uid := -1
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		uid = int(st.Uid)
	}
	switch why := privacyProblem(fi.Mode(), uid, os.Getuid()); why {
	case "":
	case "readable":
		if err := os.Chmod(stateDir, 0o700); err != nil {
			return fmt.Errorf("orbtest: state directory %s: make it private: %w", stateDir, err)
		}
	default:
		return fmt.Errorf("orbtest: state directory %s is %s: refusing to keep runs and the template cache there; set ORBTEST_STATE_DIR to a directory of your own (it is created 0700), or fix it with chmod 700", stateDir, why)
	}
	return nil
}

// privacyProblem says what is wrong with a state directory of mode, owned
// by uid, for the user me: "" (nothing), "readable" (others may read it:
// fixable by its owner), or why it is refused. uid -1 means unknown.
func privacyProblem(mode fs.FileMode, uid, me int) string {
	switch {
	case !mode.IsDir():
		return "not a directory (a symbolic link or a file)"
	case uid >= 0 && uid != me:
		return fmt.Sprintf("owned by another user (uid %d)", uid)
	case mode.Perm()&0o022 != 0:
		return fmt.Sprintf("writable by other users (mode %04o)", mode.Perm())
	case mode.Perm()&0o077 != 0:
		return "readable"
	}
	return ""
}

// Command todo keeps a to-do list in a file: the program the cli example
// tests. The tests cross-compile it for Linux and copy it into machines.
//
//	todo add TEXT...   add TEXT as one item; "todo add -" adds each line of stdin
//	todo list          print the items, numbered from 1
//	todo done N        remove item N
//	todo version       print the version and platform
//
// The list is kept in $TODO_FILE, else in $HOME/.todo; a relative
// $TODO_FILE is relative to the working directory. todo exits 0 on
// success, 1 when it cannot do what was asked, and 2 on bad usage, and
// writes errors to stderr.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: todo add TEXT... | todo add - | todo list | todo done N | todo version`

// usageError is bad usage, which exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + "\n" + usage }

func main() {
	err := run(os.Args[1:], os.Stdin, os.Stdout)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "todo:", err)
	if errors.As(err, new(usageError)) {
		os.Exit(2)
	}
	os.Exit(1)
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"no command"}
	}
	switch cmd, args := args[0], args[1:]; cmd {
	case "version":
		fmt.Fprintf(stdout, "todo %s %s/%s\n", version, runtime.GOOS, runtime.GOARCH)
		return nil
	case "add":
		return add(args, stdin)
	case "list":
		items, err := load()
		if err != nil {
			return err
		}
		for i, it := range items {
			fmt.Fprintf(stdout, "%d. %s\n", i+1, it)
		}
		return nil
	case "done":
		if len(args) != 1 {
			return usageError{"done takes one item number"}
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return usageError{fmt.Sprintf("%q is not an item number", args[0])}
		}
		items, err := load()
		if err != nil {
			return err
		}
		if n < 1 || n > len(items) {
			return fmt.Errorf("no item %d (the list has %d)", n, len(items))
		}
		return save(append(items[:n-1], items[n:]...))
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

func add(args []string, stdin io.Reader) error {
	var add []string
	if len(args) == 1 && args[0] == "-" {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				add = append(add, line)
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
	} else if text := strings.TrimSpace(strings.Join(args, " ")); text != "" {
		add = []string{text}
	}
	if len(add) == 0 {
		return usageError{"nothing to add"}
	}
	items, err := load()
	if err != nil {
		return err
	}
	return save(append(items, add...))
}

// path is where the list is kept.
func path() (string, error) {
	if p := os.Getenv("TODO_FILE"); p != "" {
		return filepath.Abs(p)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".todo"), nil
}

func load() ([]string, error) {
	p, err := path()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' }), nil
}

func save(items []string) error {
	p, err := path()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it + "\n")
	}
	return os.WriteFile(p, []byte(b.String()), 0o600)
}

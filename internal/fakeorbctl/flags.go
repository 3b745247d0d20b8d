package fakeorbctl

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// A small re-implementation of the parts of spf13/pflag that orbctl's cobra
// commands use, with pflag's error texts.

type flagKind int

const (
	boolFlag flagKind = iota
	stringFlag
	intFlag
)

type flagSpec struct {
	long  string
	short string // "" or one letter
	kind  flagKind
	usage string
}

type parsedFlags struct {
	values map[string]string // long name -> value ("true" for a set bool)
	args   []string
	help   bool
}

func (p *parsedFlags) str(name string) string { return p.values[name] }

func (p *parsedFlags) bool(name string) bool { return p.values[name] == "true" }

func (p *parsedFlags) has(name string) bool {
	_, ok := p.values[name]
	return ok
}

var errHelp = errors.New("help requested")

func flagDisplayName(f flagSpec) string {
	if f.short != "" {
		return fmt.Sprintf("-%s, --%s", f.short, f.long)
	}
	return "--" + f.long
}

func setFlag(p *parsedFlags, f flagSpec, value string) error {
	switch f.kind {
	case boolFlag:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("invalid argument %q for %q flag: %v", value, flagDisplayName(f), err)
		}
		value = strconv.FormatBool(b)
	case intFlag:
		if _, err := strconv.ParseInt(value, 0, 64); err != nil {
			return fmt.Errorf("invalid argument %q for %q flag: %v", value, flagDisplayName(f), err)
		}
	}
	p.values[f.long] = value
	return nil
}

// parseFlags parses interspersed flags and arguments the way pflag does.
// -h/--help yields errHelp.
func parseFlags(specs []flagSpec, args []string) (*parsedFlags, error) {
	p := &parsedFlags{values: map[string]string{}}
	byLong := map[string]flagSpec{}
	byShort := map[string]flagSpec{}
	for _, f := range specs {
		byLong[f.long] = f
		if f.short != "" {
			byShort[f.short] = f
		}
	}
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		switch {
		case a == "--":
			p.args = append(p.args, args...)
			args = nil
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			if name == "help" {
				p.help = true
				continue
			}
			f, ok := byLong[name]
			if !ok {
				return nil, fmt.Errorf("unknown flag: --%s", name)
			}
			switch {
			case hasValue:
			case f.kind == boolFlag:
				value = "true"
			case len(args) > 0:
				value, args = args[0], args[1:]
			default:
				return nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			if err := setFlag(p, f, value); err != nil {
				return nil, err
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			shorts := a[1:]
			for len(shorts) > 0 {
				c := shorts[:1]
				shorts = shorts[1:]
				if c == "h" {
					p.help = true
					continue
				}
				f, ok := byShort[c]
				if !ok {
					return nil, fmt.Errorf("unknown shorthand flag: %q in -%s", rune(c[0]), a[1:])
				}
				var value string
				switch {
				case strings.HasPrefix(shorts, "="):
					value, shorts = shorts[1:], ""
				case f.kind == boolFlag:
					value = "true"
				case shorts != "":
					value, shorts = shorts, ""
				case len(args) > 0:
					value, args = args[0], args[1:]
				default:
					return nil, fmt.Errorf("flag needs an argument: %q in -%s", rune(c[0]), a[1:])
				}
				if err := setFlag(p, f, value); err != nil {
					return nil, err
				}
			}
		default:
			p.args = append(p.args, a)
		}
	}
	if p.help {
		return p, errHelp
	}
	return p, nil
}

// flagUsages formats flags like pflag's FlagUsages (sorted, aligned),
// including cobra's help flag.
func flagUsages(cmdName string, specs []flagSpec) string {
	all := append([]flagSpec{{long: "help", short: "h", kind: boolFlag, usage: "help for " + cmdName}}, specs...)
	sort.Slice(all, func(i, j int) bool { return all[i].long < all[j].long })
	lines := make([]string, len(all))
	maxlen := 0
	for i, f := range all {
		line := "      --" + f.long
		if f.short != "" {
			line = "  -" + f.short + ", --" + f.long
		}
		switch f.kind {
		case stringFlag:
			line += " string"
		case intFlag:
			line += " int"
		}
		lines[i] = line
		if len(line) > maxlen {
			maxlen = len(line)
		}
	}
	var b strings.Builder
	for i, f := range all {
		fmt.Fprintln(&b, lines[i], strings.Repeat(" ", maxlen-len(lines[i])), f.usage)
	}
	return b.String()
}

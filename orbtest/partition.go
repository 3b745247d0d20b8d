package orbtest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Partitions.
//
// A partition is a set of iproute2 routing rules in the guests: a rule
// "to ADDR prohibit" at orbtest's priority makes the kernel refuse to send
// to ADDR (the sender gets EACCES or an ICMP "prohibited"). Partition puts
// one on each side, so nothing flows either way; it needs no nftables or
// iptables. The rules live in the kernel: a reboot, and so the pool's
// reset, undoes them.

// rulePriority is the priority of orbtest's rules: after the local table
// (0), before main (32766).
const rulePriority = 1000

// cut is one rule orbtest added in a machine.
type cut struct {
	on   *VM
	rule []string // ip's arguments after "rule add" or "rule del"
}

// ruleArgs builds `ip -4|-6 rule add|del SELECTOR prohibit priority 1000`
// for traffic to prefix to, or, when to is not valid, for everything but
// loopback ("not to 127.0.0.0/8" or "not to ::1/128") of family 4 or 6.
func ruleArgs(op string, family int, to netip.Prefix) ([]string, error) {
	if op != "add" && op != "del" {
		return nil, fmt.Errorf("rule operation %q: want add or del", op)
	}
	fam := "-" + strconv.Itoa(family)
	var sel []string
	switch {
	case to.IsValid():
		if (family == 4) != to.Addr().Is4() {
			return nil, fmt.Errorf("prefix %s is not of family %d", to, family)
		}
		sel = []string{"to", to.String()}
	case family == 4:
		sel = []string{"not", "to", "127.0.0.0/8"}
	case family == 6:
		sel = []string{"not", "to", "::1/128"}
	default:
		return nil, fmt.Errorf("family %d: want 4 or 6", family)
	}
	return slices.Concat([]string{"ip", fam, "rule", op}, sel, []string{"prohibit", "priority", strconv.Itoa(rulePriority)}), nil
}

// hostPrefix is addr as a one-address prefix.
func hostPrefix(addr netip.Addr) netip.Prefix {
	return netip.PrefixFrom(addr, addr.BitLen())
}

// Partition cuts all traffic between the machine and each peer, both ways:
// rules in both machines forbid each to send to the other, while either
// still reaches every other machine and the host, and orbtest's own
// commands, which do not use the machines' network, keep working. With no
// peers it cuts the machine off from every other machine and the host: it
// can send to nothing but itself (packets sent to it still arrive, but get
// no answer). [VM.Heal] removes the cuts; a reboot, and the reset at the
// end of the test, undo them too.
//
// Partition needs iproute2's ip in the guests, with policy routing in the
// kernel: Debian, Ubuntu and Fedora images have it; on Alpine add it
// (WithSetup("apk add iproute2")). It is an error on a [Shared] machine,
// and with a peer that is the machine itself or has no IP address.
func (vm *VM) Partition(ctx context.Context, peers ...*VM) error {
	if err := vm.partition(ctx, peers); err != nil {
		return vm.errorf("partition: %w", err)
	}
	return nil
}

func (vm *VM) partition(ctx context.Context, peers []*VM) error {
	for i, m := range append([]*VM{vm}, peers...) {
		if i > 0 && m.name == vm.name {
			return errors.New("a machine cannot be partitioned from itself")
		}
		if err := m.controllable(); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	if len(peers) == 0 {
		for _, fam := range []int{4, 6} {
			if err := vm.addCut(ctx, vm, fam, netip.Prefix{}); err != nil {
				return err
			}
		}
		return nil
	}
	mine, err := vm.ips(ctx)
	if err != nil {
		return err
	}
	for _, p := range peers {
		theirs, err := p.ips(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		for _, a := range theirs {
			if err := vm.addCut(ctx, vm, family(a), hostPrefix(a)); err != nil {
				return err
			}
		}
		for _, a := range mine {
			if err := vm.addCut(ctx, p, family(a), hostPrefix(a)); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
		}
	}
	return nil
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// ips returns the machine's IP addresses as the backend reports them.
func (vm *VM) ips(ctx context.Context) ([]netip.Addr, error) {
	m, err := vm.driver.Inspect(ctx, vm.name)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, s := range []string{m.IP4, m.IP6} {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap())
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the backend reports no IP address for the machine")
	}
	return out, nil
}

// addCut adds the rule in machine on and notes it in vm, which made it.
func (vm *VM) addCut(ctx context.Context, on *VM, fam int, to netip.Prefix) error {
	args, err := ruleArgs("add", fam, to)
	if err != nil {
		return err
	}
	if _, err := on.exec(ctx, Command(args[0], args[1:]...).AsUser("root")); err != nil {
		return err
	}
	vm.mu.Lock()
	vm.cuts = append(vm.cuts, cut{on: on, rule: args})
	vm.mu.Unlock()
	return nil
}

// Heal removes every cut the machine's [VM.Partition] calls made, in it
// and in its peers. A cut a reboot already undid is not an error.
func (vm *VM) Heal(ctx context.Context) error {
	vm.mu.Lock()
	cuts := vm.cuts
	vm.cuts = nil
	vm.mu.Unlock()
	var errs []error
	for i, c := range cuts {
		del := slices.Clone(c.rule)
		del[3] = "del"
		_, err := c.on.exec(ctx, Command(del[0], del[1:]...).AsUser("root"))
		var xe *ExitError
		if errors.As(err, &xe) && strings.Contains(xe.Result.Stderr, "No such file or directory") {
			err = nil // gone with a reboot
		}
		if err != nil {
			errs = append(errs, err)
			vm.mu.Lock()
			vm.cuts = append(vm.cuts, cuts[i]) // still there: a later Heal tries again
			vm.mu.Unlock()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return vm.errorf("heal: %w", err)
	}
	return nil
}

package orbtest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/orbtest"
)

// t stands in for the *testing.T a real test receives.
var t = &testing.T{}

func ExampleNewVM() {
	vm := orbtest.NewVM(t, orbtest.Debian("bookworm").WithSetup("apt-get install -y curl"))
	out := vm.MustRun(t, "curl", "--version")
	fmt.Println(out)
}

func ExampleVM_Exec() {
	vm := orbtest.NewVM(t, orbtest.Debian("bookworm"))
	cmd := orbtest.Command("sh", "-c", "wc -l; exit 3").
		AsUser("root").
		InDir("/tmp").
		WithEnv("LANG=C").
		WithStdin(strings.NewReader("one\ntwo\n"))
	res, err := vm.Exec(t.Context(), cmd)
	var exit *orbtest.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err) // the command could not run at all
	}
	fmt.Println(res.ExitCode, res.Stdout) // 3 2
}

func ExampleWithReady() {
	// Setup steps run once, on the spec's template, and every machine boots
	// from its disk: start services as systemd units, not with "&".
	const port = 8080
	spec := orbtest.Debian("bookworm").WithSetup(`cat >/etc/systemd/system/web.service <<'UNIT'
[Service]
ExecStart=/usr/bin/python3 -m http.server 8080 --directory /srv
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable --now web.service`)
	vm := orbtest.NewVM(t, spec, orbtest.WithReady(
		orbtest.PortListening(port),
		orbtest.PortReachable(port),
	))
	resp, err := http.Get("http://" + vm.Address() + ":" + strconv.Itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func ExampleNewCheck() {
	migrated := orbtest.NewCheck("schema migrated", func(ctx context.Context, vm *orbtest.VM) error {
		res, err := vm.Run(ctx, "psql", "-tAc", "select count(*) from schema_migrations")
		if err != nil {
			return err // not yet: keep polling
		}
		if res.Stdout == "0\n" {
			return orbtest.Permanent(fmt.Errorf("no migrations ran")) // waiting cannot help
		}
		return nil
	})
	orbtest.NewVM(t, orbtest.Debian("bookworm"), orbtest.WithReady(orbtest.SystemdRunning(), migrated))
}

func ExampleStartVM() {
	// In TestMain or a tool: the caller owns the machine.
	ctx := context.Background()
	vm, err := orbtest.StartVM(ctx, orbtest.Debian("bookworm"))
	if err != nil {
		log.Fatal(err)
	}
	defer vm.Delete(ctx)
}

func ExampleSpec_String() {
	spec := orbtest.Debian("bookworm").
		WithArch("arm64").
		WithUser("ci").
		WithSetup("apt-get update", "apt-get install -y curl").
		WithCPUs(2).
		WithMemory(2048)
	fmt.Println(spec)
	// Output: debian:bookworm/arm64 user=ci setup=2 cpus=2 memory=2048MiB
}

func ExampleSpec_Validate() {
	err := orbtest.Distro("debian", "").WithArch("sparc").Validate()
	fmt.Println(err)
	// Output:
	// invalid spec debian:/sparc: distro "debian" has no version: pin one, such as orbtest.Distro("debian", "bookworm")
	// unknown arch "sparc": use amd64, arm64 or i386
}

func ExampleCommand() {
	cmd := orbtest.Command("grep", "-r", "needle", "/srv/my data")
	fmt.Println(cmd)
	// Output: grep -r needle '/srv/my data'
}

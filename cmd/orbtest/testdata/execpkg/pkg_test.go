package execpkg

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestGreeting(t *testing.T) {
	if got := Greeting("go"); got != "hello, go" {
		t.Errorf("Greeting(go) = %q", got)
	}
	t.Log("greeted")
}

func TestReadsTestdata(t *testing.T) {
	b, err := os.ReadFile("testdata/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "hello from testdata\n" {
		t.Errorf("testdata/hello.txt = %q", b)
	}
}

// TestArtifact leaves a file in its artifact directory, which go test
// -artifacts keeps under -outputdir.
func TestArtifact(t *testing.T) {
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "note.txt"), []byte("artifact of the guest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSub(t *testing.T) {
	t.Run("a", func(t *testing.T) {})
	t.Run("b", func(t *testing.T) { t.Skip("skipped on purpose") })
}

// TestEnv checks, under EXECPKG_ENVCHECK=1, that EXECPKG_PASSED reached
// the binary and EXECPKG_HOSTONLY did not.
func TestEnv(t *testing.T) {
	if os.Getenv("EXECPKG_ENVCHECK") != "1" {
		t.Skip("EXECPKG_ENVCHECK is not 1")
	}
	if v := os.Getenv("EXECPKG_PASSED"); v != "yes" {
		t.Errorf("EXECPKG_PASSED = %q, want yes", v)
	}
	if v, ok := os.LookupEnv("EXECPKG_HOSTONLY"); ok {
		t.Errorf("EXECPKG_HOSTONLY = %q reached the binary", v)
	}
}

func TestFails(t *testing.T) {
	if os.Getenv("EXECPKG_FAIL") == "1" {
		t.Fatal("boom: the failure message")
	}
}

func TestPanics(t *testing.T) {
	if os.Getenv("EXECPKG_PANIC") == "1" {
		panic("kaboom in the guest")
	}
}

// TestSleeps writes its pid to EXECPKG_PIDFILE and sleeps, under
// EXECPKG_SLEEP=1.
func TestSleeps(t *testing.T) {
	if os.Getenv("EXECPKG_SLEEP") != "1" {
		return
	}
	if f := os.Getenv("EXECPKG_PIDFILE"); f != "" {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Minute)
}

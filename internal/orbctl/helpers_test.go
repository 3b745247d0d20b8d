package orbctl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Feature sets of real OrbStack releases.
var (
	f1_2  = FeaturesFor(Version{Major: 1, Minor: 2, Patch: 0, Raw: "1.2.0"})
	f1_11 = FeaturesFor(Version{Major: 1, Minor: 11, Patch: 3, Raw: "1.11.3"})
	f2_0  = FeaturesFor(Version{Major: 2, Minor: 0, Patch: 4, Raw: "2.0.4"})
	f2_1  = FeaturesFor(Version{Major: 2, Minor: 1, Patch: 3, Raw: "2.1.3"})
	f2_2  = FeaturesFor(Version{Major: 2, Minor: 2, Patch: 3, Raw: "2.2.3"})
)

// diff returns "" when want and got are deeply equal, else a (-want +got)
// report.
func diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	return fmt.Sprintf("(-want +got):\n-\t%#v\n+\t%#v", want, got)
}

// checkErr checks err against an expected class (nil: no error) and a
// message fragment.
func checkErr(t *testing.T, reason string, err, wantClass error, wantMsg string) {
	t.Helper()
	switch {
	case wantClass == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", reason, err)
	case wantClass != nil && err == nil:
		t.Fatalf("%s: got no error, want one wrapping %v", reason, wantClass)
	case wantClass != nil && !errors.Is(err, wantClass):
		t.Fatalf("%s: error %q does not wrap %v", reason, err, wantClass)
	case err != nil && wantMsg != "" && !strings.Contains(err.Error(), wantMsg):
		t.Fatalf("%s: error %q does not contain %q", reason, err, wantMsg)
	}
}

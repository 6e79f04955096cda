package timeline

import "testing"

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"3.8.0.188", "3.8.0.188", 0},
		{"3.6.0.248", "3.8.0.139", -1},
		{"5.10.0.1", "5.9.0.1", 1},
		{"5.1", "5.1.0.1", -1},
		{"5.1.4.10", "", -1},
		{"", "1.0", 1},
		{"1.0beta", "1.0", 1},
		{"1.a", "1.b", -1},
		{"1.2", "1.a", -1},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := CompareVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d (antisymmetry)", tc.b, tc.a, got, -tc.want)
		}
	}
}

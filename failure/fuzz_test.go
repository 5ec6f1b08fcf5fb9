package failure_test

import (
	"testing"
	"unicode/utf8"

	"github.com/tnco-drivers/openstack-driver/failure"
)

// FuzzDescribe checks that Describe never goes over its length and always
// gives valid UTF-8, whatever it is fed.
func FuzzDescribe(f *testing.F) {
	f.Add("vm", "OS::Nova::Server", "Quota exceeded for cores", 20)
	f.Add("", "", "alpha beta gamma", 0)
	f.Add("n\xff", "t", "\xe2\x82 żółw 雪雪雪", 3)
	f.Add("a", "", "  \t\n ", -1)
	f.Fuzz(func(t *testing.T, name, kind, reason string, max int) {
		got := failure.Describe(name, kind, reason, max)
		limit := max
		if limit <= 0 {
			limit = 1000
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Describe(%q, %q, %q, %d) = %q: not UTF-8",
				name, kind, reason, max, got)
		}
		if n := utf8.RuneCountInString(got); n > limit {
			t.Fatalf("Describe(%q, %q, %q, %d) has %d runes, max %d",
				name, kind, reason, max, n, limit)
		}
	})
}

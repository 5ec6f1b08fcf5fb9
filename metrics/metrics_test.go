package metrics_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tnco-drivers/openstack-driver/metrics"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// An HTTP method a client made up must not become a label value of its
// own: the set of series stays bounded whatever callers send.
func TestHTTPMethodLabelIsBounded(t *testing.T) {
	m := metrics.New("test")
	m.HTTP("/api/driver/lifecycle/execute", "POST", 202, time.Millisecond)
	m.HTTP("/api/driver/lifecycle/execute", "BREW-COFFEE-123", 405,
		time.Millisecond)
	body := scrape(t, m)
	if strings.Contains(body, "BREW-COFFEE-123") {
		t.Fatalf("a made-up method became a label:\n%s", body)
	}
	for _, want := range []string{
		`openstack_driver_http_requests_total{code="202",method="POST",` +
			`route="/api/driver/lifecycle/execute"} 1`,
		`openstack_driver_http_requests_total{code="405",method="other",` +
			`route="/api/driver/lifecycle/execute"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
}

// Calls without an answer are counted apart from answered ones, and
// produce failures apart from successes.
func TestClassesAndResults(t *testing.T) {
	m := metrics.New("test")
	m.CloudCall("heat", "get_stack", 0, time.Millisecond)
	m.CloudCall("heat", "get_stack", 503, time.Millisecond)
	m.Produced("events", nil)
	m.Produced("events", errors.New("broker down"))
	body := scrape(t, m)
	for _, want := range []string{
		`openstack_driver_openstack_api_calls_total{operation="get_stack",` +
			`service="heat",status_class="error"} 1`,
		`openstack_driver_openstack_api_calls_total{operation="get_stack",` +
			`service="heat",status_class="5xx"} 1`,
		`openstack_driver_kafka_messages_produced_total{result="ok",` +
			`topic="events"} 1`,
		`openstack_driver_kafka_messages_produced_total{result="error",` +
			`topic="events"} 1`,
		`openstack_driver_build_info{goversion="go`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
}

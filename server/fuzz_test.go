package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzExecuteDecode sends arbitrary bytes as the body of an execute
// request to the real API (the real engine, a Kafka that records and never
// fails, and OpenStack clients whose every call is refused without leaving
// the process, as a cloud that is down would refuse it).
//
// The invariant: whatever the body, the driver answers as the contract's
// table says, and never with a bug:
//   - 400: the request is wrong. It is decided before anything else:
//     no call to OpenStack was tried, nothing was published to Kafka and
//     nothing recorded on the job queue.
//   - 413: only for a body over the limit.
//   - 503: only when the request got as far as OpenStack (a call was
//     tried and refused): the one dependency that is down here. Kafka
//     never fails, so a 503 without a call to OpenStack is a bug.
//   - 202: only what needs no cloud can be accepted here (a Delete with no
//     stack to delete); its final message must then be on Kafka at once,
//     keyed by the request id the answer gives.
//   - anything else, 500 above all (a panic is turned into a 500), is a
//     bug.
//
// Every error answer is {"localizedMessage", "status"} and nothing else,
// with the answer's status and a message that is not empty.
func FuzzExecuteDecode(f *testing.F) {
	// Nothing is dialled (noNetwork refuses every call), so the address
	// only has to look like one.
	const dead = "127.0.0.1:9"
	for _, c := range loadCorpus(f, dead) {
		if c.Path == "/api/driver/lifecycle/execute" {
			f.Add(c.raw)
		}
	}
	pkg := b64zip(f, zipEntry{Name: "heat.yaml", Body: corpusHeat},
		zipEntry{Name: "files/nested.yaml", Body: corpusHeat})
	f.Add(execBody(pkg, dead, `{"timeout_mins": "30",
		"disable_rollback": {"type": "boolean", "value": "false"}}`))
	f.Add([]byte(`{"lifecycleName": "Delete", "driverFiles": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==",
		"systemProperties": {"resourceId": {"type": "string", "value": "r-1"}},
		"deploymentLocation": {"name": "lab", "properties": {
			"os_api_url": "http://127.0.0.1:9/v1/admin", "os_auth_enabled": "False"}}}`))
	f.Add([]byte(`{"lifecycleName": "Adopt", "driverFiles": "",
		"systemProperties": {}, "associatedTopology": {"s": {"id": "abc", "type": "Openstack"}},
		"deploymentLocation": {"name": "lab", "type": "Openstack", "properties": {
			"os_api_url": "https://127.0.0.1:9", "os_auth_api": "identity/v3",
			"os_auth_user_id": "u", "os_auth_password": "p",
			"os_auth_project_id": {"type": "string", "value": "p1"}}}}`))

	d := newHostileDriver()
	f.Fuzz(func(t *testing.T, body []byte) {
		d.logs.Reset()
		d.bus.take()
		netBefore, queueBefore := d.net.count(), d.queue.enqueuedCount()

		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost,
			"/api/driver/lifecycle/execute", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		d.api.ServeHTTP(rec, req)

		status, answer := rec.Code, rec.Body.Bytes()
		reached := d.net.count() > netBefore
		published := d.bus.take()
		recorded := d.queue.enqueuedCount() > queueBefore
		if strings.Contains(d.logs.String(), "panic") {
			t.Fatalf("the driver panicked (status %d): %s", status,
				d.logs.String())
		}

		if status == http.StatusAccepted {
			var ok struct {
				RequestID          string                     `json:"requestId"`
				AssociatedTopology map[string]json.RawMessage `json:"associatedTopology"`
			}
			if err := json.Unmarshal(answer, &ok); err != nil ||
				ok.RequestID == "" || ok.AssociatedTopology == nil {
				t.Fatalf("202 without a request id and a topology: %s",
					answer)
			}
			var final bool
			for _, r := range published {
				var m struct {
					RequestID string `json:"requestId"`
					Status    string `json:"status"`
				}
				if r.Key == ok.RequestID &&
					json.Unmarshal(r.Value, &m) == nil &&
					m.RequestID == ok.RequestID &&
					(m.Status == "COMPLETE" || m.Status == "FAILED") {
					final = true
				}
			}
			if !final {
				t.Fatalf("202 for %s with no cloud reachable, but no final "+
					"message on Kafka (published %d records)", ok.RequestID,
					len(published))
			}
			return
		}

		var e struct {
			LocalizedMessage string `json:"localizedMessage"`
			Status           int    `json:"status"`
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(answer, &fields) != nil || len(fields) != 2 ||
			json.Unmarshal(answer, &e) != nil || e.Status != status ||
			strings.TrimSpace(e.LocalizedMessage) == "" {
			t.Fatalf("status %d with a malformed error body: %s", status,
				answer)
		}
		switch status {
		case http.StatusBadRequest:
			if reached || recorded || len(published) > 0 {
				t.Fatalf("400 %q after a call to OpenStack (%v), a job "+
					"record (%v) or %d Kafka messages", e.LocalizedMessage,
					reached, recorded, len(published))
			}
		case http.StatusRequestEntityTooLarge:
			if len(body) <= hostileMaxBody {
				t.Fatalf("413 for a body of %d bytes, under the limit",
					len(body))
			}
		case http.StatusServiceUnavailable:
			if !reached {
				t.Fatalf("503 %q, but no call to OpenStack was tried and "+
					"Kafka works", e.LocalizedMessage)
			}
		default:
			t.Fatalf("status %d: %s", status, answer)
		}
	})
}

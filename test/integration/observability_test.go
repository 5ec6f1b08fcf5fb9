package integration

import (
	"io"
	"net/http"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func get(path string) (int, string) {
	resp, err := http.Get(env.driverURL + path)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var _ = Describe("Operations", func() {
	It("reports its health with every vital OK", func() {
		code, body := get("/management/health")
		Expect(code).To(Equal(200), body)
		Expect(body).To(MatchJSON(`{"vitals": {"app": {"status": "OK"},
			"kafka": {"status": "OK"}, "jobQueue": {"status": "OK"},
			"workers": {"status": "OK"}}}`))
		code, _ = get("/management/live")
		Expect(code).To(Equal(200))
		code, _ = get("/management/ready")
		Expect(code).To(Equal(200))
	})

	It("serves Prometheus metrics with bounded labels", func() {
		r := newResource("metered")
		reqID, _ := accepted(env.post(executePath, r.create(
			zipPackage(helloPackage), keystoneLocation(demoPassword), nil)))
		Expect(finalOf(reqID).Message.Status).To(Equal("COMPLETE"))

		// The final message may be read before the driver has counted
		// it: the count follows its publishing.
		Eventually(func() string {
			_, b := get("/metrics")
			return b
		}, "5s", "100ms").Should(ContainSubstring(
			`openstack_driver_lifecycle_requests_finished_total{` +
				`failure_code="",status="COMPLETE",transition="Create"}`))
		code, body := get("/metrics")
		Expect(code).To(Equal(200))
		for _, want := range []string{
			`openstack_driver_http_requests_total{code="202",method="POST",` +
				`route="/api/driver/lifecycle/execute"}`,
			`openstack_driver_http_request_duration_seconds_bucket{`,
			`openstack_driver_lifecycle_requests_accepted_total{` +
				`transition="Create"}`,
			`openstack_driver_lifecycle_requests_finished_total{` +
				`failure_code="",status="COMPLETE",transition="Create"}`,
			`openstack_driver_stack_duration_seconds_bucket{`,
			`openstack_driver_openstack_api_calls_total{` +
				`operation="create_stack",service="heat",status_class="2xx"}`,
			`openstack_driver_openstack_api_calls_total{` +
				`operation="post_token",service="keystone",status_class="2xx"}`,
			`openstack_driver_kafka_messages_produced_total{result="ok",` +
				`topic="lm_vnfc_lifecycle_execution_events"}`,
			`openstack_driver_package_bytes_bucket{`,
			`openstack_driver_lifecycle_requests_in_flight `,
			`openstack_driver_build_info{`,
		} {
			Expect(body).To(ContainSubstring(want))
		}
		uuid := regexp.MustCompile(`"[^"]*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}`)
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "openstack_driver_") {
				Expect(uuid.MatchString(line)).To(BeFalse(), line)
			}
		}
	})

	It("keeps a password and a private key out of logs, answers, "+
		"metrics and Kafka through a whole Create and Delete", func() {
		const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
			"QQ-private-key-7731-recognisable-QQ\n" +
			"-----END OPENSSH PRIVATE KEY-----\n"
		r := newResource("secretive")
		a := env.post(executePath, r.create(
			zipPackage("testdata/packages/uses-key"),
			keystoneLocation(demoPassword),
			map[string]any{"mgmt_key": map[string]any{"type": "key",
				"keyName": "ops", "publicKey": "ssh-ed25519 AAAA ops",
				"privateKey": privateKey}}))
		reqID, stackID := accepted(a)
		created := finalOf(reqID)
		Expect(created.Message.Status).To(Equal("COMPLETE"), created.Raw)
		Expect(created.Message.Outputs["key_name"]).To(Equal("ops"))
		del := env.post(executePath, r.other("Delete",
			stackTopology(stackID), keystoneLocation(demoPassword)))
		Expect(finalOf(mustAccept(del)).Message.Status).To(Equal("COMPLETE"))
		// A refused password and a bad request say what is wrong without
		// repeating the secrets.
		bad := env.post(executePath, r.create(zipPackage(helloPackage),
			keystoneLocation(demoPassword+"-wrong"), nil))
		Expect(bad.Status).To(Equal(400))

		_, metricsText := get("/metrics")
		var kafka strings.Builder
		for _, topic := range []string{eventsTopic, progressTopic,
			"openstack_driver_jobs"} {
			for _, rec := range readTopic(topic) {
				kafka.Write(rec.Value)
				for _, h := range rec.Headers {
					kafka.Write(h.Value)
				}
			}
		}
		for _, secret := range []string{demoPassword,
			"QQ-private-key-7731-recognisable-QQ"} {
			Expect(env.driverLogText()).NotTo(ContainSubstring(secret))
			Expect(a.Text + del.Text + bad.Text).NotTo(ContainSubstring(secret))
			Expect(metricsText).NotTo(ContainSubstring(secret))
			Expect(kafka.String()).NotTo(ContainSubstring(secret))
		}
	})
})

var _ = Describe("Ping", func() {
	checksOf := func(a answer) map[string]bool {
		out := map[string]bool{}
		for _, c := range a.Body["checks"].([]any) {
			m := c.(map[string]any)
			out[m["name"].(string)] = m["ok"].(bool)
		}
		return out
	}

	It("says Heat answers for a location without Keystone", func() {
		a := env.post("/api/os/ping", map[string]any{
			"deploymentLocation": noauthLocation()})
		Expect(a.Status).To(Equal(200), a.Text)
		Expect(a.Body["reachable"]).To(BeTrue())
		Expect(checksOf(a)).To(HaveKeyWithValue("heat", true))
	})

	It("logs in, finds Heat in the catalog and lists a stack through "+
		"Keystone; no Neutron answers here, and it says so", func() {
		a := env.post("/api/os/ping", map[string]any{
			"deploymentLocation": keystoneLocation(demoPassword)})
		Expect(a.Status).To(Equal(200), a.Text)
		Expect(a.Body["reachable"]).To(BeTrue())
		checks := checksOf(a)
		Expect(checks).To(HaveKeyWithValue("keystone", true))
		Expect(checks).To(HaveKeyWithValue("heat endpoint", true))
		Expect(checks).To(HaveKeyWithValue("heat", true))
		Expect(checks).To(HaveKey("neutron endpoint"))
	})

	It("says Keystone refused a wrong password without repeating it",
		func() {
			a := env.post("/api/os/ping", map[string]any{
				"deploymentLocation": keystoneLocation("wrong-" +
					demoPassword)})
			Expect(a.Status).To(Equal(200), a.Text)
			Expect(a.Body["reachable"]).To(BeFalse())
			Expect(checksOf(a)).To(HaveKeyWithValue("keystone", false))
			Expect(a.Text).NotTo(ContainSubstring(demoPassword))
		})

	It("answers 400 for a malformed location", func() {
		a := env.post("/api/os/ping", map[string]any{
			"deploymentLocation": map[string]any{"name": "x",
				"properties": map[string]any{"os_api_url": "ftp://x"}}})
		Expect(a.Status).To(Equal(400), a.Text)
		Expect(a.Body["localizedMessage"]).To(ContainSubstring("os_api_url"))
	})
})

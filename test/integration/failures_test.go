package integration

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Failures", func() {
	It("finds the cause of a failure two nested stacks deep and names "+
		"the resource where it started", func() {
		r := newResource("nested-failure")
		reqID, _ := accepted(env.post(executePath, r.create(
			zipPackage("testdata/packages/nested-failing"),
			noauthLocation(), nil)))
		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("FAILED"))
		Expect(ev.Message.FailureDetails.FailureCode).
			To(Equal("INFRASTRUCTURE_ERROR"))
		Expect(ev.Message.FailureDetails.Description).To(HavePrefix(
			"vdu1 (OS::Heat::TestResource): "))
		Expect(ev.Message.FailureDetails.Description).To(ContainSubstring(
			"Test Resource failed vdu1"))
	})

	It("asks Heat again when a stack delete fails once, and completes",
		func() {
			r := newResource("sticky-once")
			reqID, stackID := accepted(env.post(executePath, r.create(
				zipPackage("testdata/packages/fail-delete"),
				noauthLocation(), map[string]any{"fail_attempts": 1})))
			Expect(finalOf(reqID).Message.Status).To(Equal("COMPLETE"))
			ev := finalOf(mustAccept(env.post(executePath, r.other("Delete",
				stackTopology(stackID), noauthLocation()))))
			Expect(ev.Message.Status).To(Equal("COMPLETE"), ev.Raw)
			code, status := stackStatus(stackID)
			Expect(code == 404 || status == "DELETE_COMPLETE").To(BeTrue())
		})

	It("fails a Delete that keeps failing, with every attempt's reason",
		func() {
			r := newResource("sticky-always")
			reqID, stackID := accepted(env.post(executePath, r.create(
				zipPackage("testdata/packages/fail-delete"),
				noauthLocation(), map[string]any{"fail_attempts": -1})))
			Expect(finalOf(reqID).Message.Status).To(Equal("COMPLETE"))
			ev := finalOf(mustAccept(env.post(executePath, r.other("Delete",
				stackTopology(stackID), noauthLocation()))))
			Expect(ev.Message.Status).To(Equal("FAILED"))
			d := ev.Message.FailureDetails
			Expect(d.FailureCode).To(Equal("INFRASTRUCTURE_ERROR"))
			Expect(d.Description).To(ContainSubstring("in 3 attempts"))
			Expect(d.Description).To(ContainSubstring("failure #3"))
			Expect(d.Description).To(ContainSubstring(
				"sticky (Test::FailDelete)"))
		})

	It("fails a Create whose template names an image the cloud lacks "+
		"with RESOURCE_NOT_FOUND... or, without Nova, says Nova is missing",
		func() {
			r := newResource("no-nova")
			a := env.post(executePath, r.create(zipFiles(map[string]string{
				"heat.yaml": "heat_template_version: 2018-08-31\n" +
					"resources:\n  vm:\n    type: OS::Nova::Server\n" +
					"    properties: {image: nope, flavor: m1.tiny}\n"}),
				noauthLocation(), nil))
			// The standalone Heat has no Nova: Heat refuses the template
			// at once, and that is the package's (or the cloud's) to fix.
			Expect(a.Status).To(Equal(400), a.Text)
			Expect(a.Body["localizedMessage"]).To(ContainSubstring("nova"))
		})
})

var _ = Describe("Progress", func() {
	It("publishes IN_PROGRESS on the lifecycle topic and progress events "+
		"with rising counts on the progress topic, all before COMPLETE",
		func() {
			r := newResource("steps")
			reqID, _ := accepted(env.post(executePath, r.create(
				zipPackage("testdata/packages/steps"), noauthLocation(),
				nil)))
			final := finalOf(reqID)
			Expect(final.Message.Status).To(Equal("COMPLETE"))

			var inProgress int
			var done []float64
			for _, ev := range env.events.of(reqID) {
				if ev.Time.After(final.Time) {
					continue
				}
				switch ev.Topic {
				case eventsTopic:
					if ev.Message.Status == "IN_PROGRESS" {
						inProgress++
						Expect(ev.Message.Outputs).To(BeEmpty())
						Expect(ev.Raw).To(HaveLen(4))
					}
				case progressTopic:
					Expect(ev.Raw["resourcesTotal"]).To(BeNumerically("==", 3))
					done = append(done, ev.Raw["resourcesDone"].(float64))
				}
			}
			Expect(inProgress).To(Equal(1))
			Expect(len(done)).To(BeNumerically(">=", 2), "%v", done)
			Expect(done[len(done)-1]).To(BeNumerically(">", done[0]))
		})
})

var _ = Describe("Time limits", func() {
	It("fails with INFRASTRUCTURE_ERROR and says so when Heat's stack "+
		"timeout (timeout_mins) passes", func() {
		r := newResource("too-slow")
		req := r.create(zipPackage("testdata/packages/slow"),
			noauthLocation(), map[string]any{"secs": 150})
		req["requestProperties"] = map[string]any{
			"timeout_mins": map[string]any{"type": "integer", "value": "1"}}
		reqID, _ := accepted(env.post(executePath, req))
		ev, err := env.events.final(reqID, 3*time.Minute)
		Expect(err).NotTo(HaveOccurred())
		Expect(ev.Message.Status).To(Equal("FAILED"))
		Expect(ev.Message.FailureDetails.FailureCode).
			To(Equal("INFRASTRUCTURE_ERROR"))
		Expect(strings.ToLower(ev.Message.FailureDetails.Description)).
			To(ContainSubstring("timed out"))
	})
})

package integration

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const executePath = "/api/driver/lifecycle/execute"

func noauthLocation() map[string]any {
	return map[string]any{"name": "lab-noauth", "type": "Openstack",
		"properties": map[string]any{"os_api_url": env.heatURL,
			"os_auth_enabled": "False"}}
}

func keystoneLocation(password string) map[string]any {
	return map[string]any{"name": "lab-keystone", "type": "Openstack",
		"properties": map[string]any{
			"os_api_url":                  fmt.Sprintf("http://127.0.0.1:%d", env.keystonePort),
			"os_auth_api":                 "v3",
			"os_auth_username":            "demo",
			"os_auth_password":            password,
			"os_auth_user_domain_name":    "Default",
			"os_auth_project_name":        "admin",
			"os_auth_project_domain_name": "Default",
		}}
}

type resource struct {
	id, name string
}

func newResource(name string) resource {
	return resource{id: uuid.NewString(), name: name}
}

func (r resource) create(files string, loc map[string]any,
	props map[string]any) map[string]any {
	if props == nil {
		props = map[string]any{}
	}
	return map[string]any{
		"lifecycleName": "Create",
		"driverFiles":   files,
		"systemProperties": map[string]any{
			"resourceId":   map[string]any{"type": "string", "value": r.id},
			"resourceName": r.name,
			"requestId":    uuid.NewString(),
		},
		"resourceProperties": props,
		"requestProperties":  map[string]any{},
		"associatedTopology": map[string]any{},
		"deploymentLocation": loc,
	}
}

func (r resource) other(lifecycle string, topology map[string]any,
	loc map[string]any) map[string]any {
	return map[string]any{
		"lifecycleName":      lifecycle,
		"driverFiles":        zipFiles(map[string]string{"heat.yaml": "{}"}),
		"systemProperties":   map[string]any{"resourceId": r.id, "resourceName": r.name},
		"resourceProperties": map[string]any{},
		"associatedTopology": topology,
		"deploymentLocation": loc,
	}
}

func stackTopology(id string) map[string]any {
	return map[string]any{"InfrastructureStack": map[string]any{"id": id,
		"type": "Openstack"}}
}

// accepted checks a 202 and gives the request id and the stack id (or "").
func accepted(a answer) (string, string) {
	ExpectWithOffset(1, a.Status).To(Equal(202), a.Text)
	reqID, _ := a.Body["requestId"].(string)
	ExpectWithOffset(1, reqID).NotTo(BeEmpty())
	topo, _ := a.Body["associatedTopology"].(map[string]any)
	ExpectWithOffset(1, topo).NotTo(BeNil(), a.Text)
	stack, _ := topo["InfrastructureStack"].(map[string]any)
	if stack == nil {
		return reqID, ""
	}
	ExpectWithOffset(1, stack["type"]).To(Equal("Openstack"))
	id, _ := stack["id"].(string)
	env.noteStack(id)
	return reqID, id
}

func finalOf(reqID string) event {
	ev, err := env.events.final(reqID, 90*time.Second)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), env.driverLogText())
	return ev
}

func stackStatus(id string) (int, string) {
	code, body := env.heatGet("/stacks/" + id)
	if code != 200 {
		return code, ""
	}
	stack, _ := body["stack"].(map[string]any)
	status, _ := stack["stack_status"].(string)
	return code, status
}

var _ = Describe("Create", func() {
	It("turns heat.yaml, its nested template and get_file target into a "+
		"stack, and publishes COMPLETE with the stack's outputs", func() {
		r := newResource("hello world #2")
		a := env.post(executePath, r.create(
			zipPackage(helloPackage), noauthLocation(),
			map[string]any{
				"greeting": map[string]any{"type": "string", "value": "hello"},
				"length":   12,
				"mgmt_key": map[string]any{"type": "key", "keyName": "ops-key",
					"publicKey":  "ssh-ed25519 AAAAmadeup ops@example",
					"privateKey": "-----BEGIN KEY-----\nmadeup\n-----END KEY-----\n"},
				"unrelated": "not a parameter",
			}), "X-Tracectx-TransactionId", "tx-create-1")
		reqID, stackID := accepted(a)
		Expect(stackID).NotTo(BeEmpty(), "the 202 already names the stack")

		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("COMPLETE"), ev.Raw)
		Expect(ev.Key).To(Equal(reqID))
		Expect(ev.Headers).To(HaveKeyWithValue("x-tracectx-transactionid",
			"tx-create-1"))
		out := ev.Message.Outputs
		Expect(out["random"]).To(HaveLen(12))
		Expect(out["test_output"]).To(Equal("hello-" + out["random"].(string)))
		Expect(out["child_label"]).To(Equal("child:hello world #2"))
		Expect(out["motd"]).To(Equal("welcome to the lab\n"))
		Expect(out["resource_id"]).To(Equal(r.id))
		Expect(out["key_name"]).To(Equal("ops-key"))
		Expect(out["key_public"]).To(Equal("ssh-ed25519 AAAAmadeup ops@example"))
		Expect(ev.Message.AssociatedTopology).To(HaveKey("InfrastructureStack"))
		Expect(ev.Message.AssociatedTopology["InfrastructureStack"].ID).
			To(Equal(stackID))
		Expect(ev.Raw).To(HaveLen(4), "no fields beyond the contract's")

		code, body := env.heatGet("/stacks/" + stackID)
		Expect(code).To(Equal(200))
		stack := body["stack"].(map[string]any)
		Expect(stack["stack_name"]).To(Equal(
			"helloworld2." + r.id))
		Expect(stack["tags"]).To(ContainElement("tnco-resource-" + r.id))
	})

	It("works the same through a real Keystone with password "+
		"authentication and the catalog's Heat endpoint", func() {
		r := newResource("via-keystone")
		reqID, stackID := accepted(env.post(executePath, r.create(
			zipPackage(helloPackage), keystoneLocation(demoPassword),
			nil)))
		Expect(stackID).NotTo(BeEmpty())
		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("COMPLETE"), ev.Raw)
		Expect(ev.Message.Outputs["child_label"]).To(Equal("child:via-keystone"))

		del := finalOf(mustAccept(env.post(executePath, r.other("Delete",
			stackTopology(stackID), keystoneLocation(demoPassword)))))
		Expect(del.Message.Status).To(Equal("COMPLETE"), del.Raw)
	})

	It("answers 400 naming Keystone when the password is refused", func() {
		r := newResource("bad-password")
		a := env.post(executePath, r.create(
			zipPackage(helloPackage),
			keystoneLocation("wrong-password-123"), nil))
		Expect(a.Status).To(Equal(400), a.Text)
		Expect(a.Body["localizedMessage"]).To(ContainSubstring("Keystone"))
		Expect(a.Text).NotTo(ContainSubstring("wrong-password-123"))
		Expect(env.driverLogText()).NotTo(ContainSubstring("wrong-password-123"))
	})

	It("publishes FAILED with Heat's reason when a resource fails", func() {
		r := newResource("failing")
		reqID, stackID := accepted(env.post(executePath, r.create(
			zipPackage("testdata/packages/failing"), noauthLocation(), nil)))
		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("FAILED"))
		Expect(ev.Message.FailureDetails).NotTo(BeNil())
		Expect(ev.Message.FailureDetails.FailureCode).
			To(Equal("INFRASTRUCTURE_ERROR"))
		Expect(ev.Message.FailureDetails.Description).
			To(ContainSubstring("Test Resource failed"))
		Expect(ev.Message.AssociatedTopology["InfrastructureStack"].ID).
			To(Equal(stackID))
		_, status := stackStatus(stackID)
		Expect(status).To(Equal("CREATE_FAILED"),
			"rollback is off by default: the stack is kept for inspection")
	})

	It("waits for a slow stack and completes only when Heat is done",
		func() {
			r := newResource("slow")
			start := time.Now()
			reqID, _ := accepted(env.post(executePath, r.create(
				zipPackage("testdata/packages/slow"), noauthLocation(),
				map[string]any{"secs": 4})))
			Consistently(func() bool {
				_, err := env.events.final(reqID, time.Millisecond)
				return err == nil
			}, "3s", "200ms").Should(BeFalse(), "no final message yet")
			ev := finalOf(reqID)
			Expect(ev.Message.Status).To(Equal("COMPLETE"))
			Expect(ev.Message.Outputs["out"]).To(Equal("slow-done"))
			Expect(time.Since(start)).To(BeNumerically(">=", 4*time.Second))
		})

	It("reuses the stack of a repeated Create of the same resource",
		func() {
			r := newResource("retried")
			files := zipPackage(helloPackage)
			first, stackID := accepted(env.post(executePath,
				r.create(files, noauthLocation(), nil)))
			Expect(finalOf(first).Message.Status).To(Equal("COMPLETE"))
			second, again := accepted(env.post(executePath,
				r.create(files, noauthLocation(), nil)))
			Expect(again).To(Equal(stackID))
			Expect(finalOf(second).Message.Status).To(Equal("COMPLETE"))
		})

	It("fails with RESOURCE_ALREADY_EXISTS when the name belongs to "+
		"another resource's stack", func() {
		r := newResource("taken")
		files := zipPackage(helloPackage)
		first, _ := accepted(env.post(executePath,
			r.create(files, noauthLocation(), nil)))
		Expect(finalOf(first).Message.Status).To(Equal("COMPLETE"))

		// Same stack name, but a different resource: strip the tag by
		// asking for a name that collides through the naming rule.
		impostor := resource{id: r.id, name: "taken"}
		req := impostor.create(files, noauthLocation(), nil)
		req["systemProperties"].(map[string]any)["resourceId"] = r.id + "!"
		a := env.post(executePath, req)
		reqID, stackID := accepted(a)
		Expect(stackID).To(BeEmpty(), "no stack is ours")
		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("FAILED"))
		Expect(ev.Message.FailureDetails.FailureCode).
			To(Equal("RESOURCE_ALREADY_EXISTS"))
	})

	It("uses the stack named by a stack_id property instead of creating "+
		"one, and fails with RESOURCE_NOT_FOUND for an unknown one", func() {
		r := newResource("existing")
		files := zipPackage(helloPackage)
		first, stackID := accepted(env.post(executePath,
			r.create(files, noauthLocation(), nil)))
		Expect(finalOf(first).Message.Status).To(Equal("COMPLETE"))

		other := newResource("reusing")
		reqID, reused := accepted(env.post(executePath, other.create(files,
			noauthLocation(), map[string]any{"stack_id": stackID})))
		Expect(reused).To(Equal(stackID))
		Expect(finalOf(reqID).Message.Status).To(Equal("COMPLETE"))

		reqID, none := accepted(env.post(executePath, other.create(files,
			noauthLocation(), map[string]any{"stack_id": uuid.NewString()})))
		Expect(none).To(BeEmpty())
		ev := finalOf(reqID)
		Expect(ev.Message.FailureDetails.FailureCode).
			To(Equal("RESOURCE_NOT_FOUND"))
	})
})

func mustAccept(a answer) string {
	ExpectWithOffset(1, a.Status).To(Equal(202), a.Text)
	return a.Body["requestId"].(string)
}

var _ = Describe("Delete", func() {
	It("deletes the stack and completes when Heat has removed it", func() {
		r := newResource("to-delete")
		reqID, stackID := accepted(env.post(executePath, r.create(
			zipPackage(helloPackage), noauthLocation(), nil)))
		Expect(finalOf(reqID).Message.Status).To(Equal("COMPLETE"))

		a := env.post(executePath, r.other("delete", stackTopology(stackID),
			noauthLocation()))
		Expect(a.Status).To(Equal(202), a.Text)
		Expect(a.Body["associatedTopology"]).To(BeEmpty())
		ev := finalOf(a.Body["requestId"].(string))
		Expect(ev.Message.Status).To(Equal("COMPLETE"))
		Expect(ev.Message.AssociatedTopology).To(BeEmpty())
		code, status := stackStatus(stackID)
		Expect(code == 404 || status == "DELETE_COMPLETE").To(BeTrue(),
			"the stack is gone from Heat")
	})

	It("completes when there is no stack entry to delete", func() {
		r := newResource("never-created")
		ev := finalOf(mustAccept(env.post(executePath,
			r.other("Delete", map[string]any{}, noauthLocation()))))
		Expect(ev.Message.Status).To(Equal("COMPLETE"))
	})

	It("completes when Heat does not know the stack", func() {
		r := newResource("unknown")
		ev := finalOf(mustAccept(env.post(executePath, r.other("Delete",
			stackTopology(uuid.NewString()), noauthLocation()))))
		Expect(ev.Message.Status).To(Equal("COMPLETE"))
	})
})

var _ = Describe("Adopt", func() {
	It("completes with the outputs of a completed stack", func() {
		r := newResource("adoptee")
		reqID, stackID := accepted(env.post(executePath, r.create(
			zipPackage(helloPackage), noauthLocation(), nil)))
		created := finalOf(reqID)

		adopter := newResource("adopter")
		reqID, adopted := accepted(env.post(executePath, adopter.other(
			"ADOPT", map[string]any{"legacy": map[string]any{"id": stackID,
				"type": "Openstack"}}, noauthLocation())))
		Expect(adopted).To(Equal(stackID))
		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("COMPLETE"))
		Expect(ev.Message.Outputs).To(Equal(created.Message.Outputs))
	})

	It("fails with INFRASTRUCTURE_ERROR for a stack in a failed state",
		func() {
			r := newResource("broken-adoptee")
			reqID, stackID := accepted(env.post(executePath, r.create(
				zipPackage("testdata/packages/failing"), noauthLocation(),
				nil)))
			Expect(finalOf(reqID).Message.Status).To(Equal("FAILED"))
			reqID, _ = accepted(env.post(executePath, r.other("Adopt",
				stackTopology(stackID), noauthLocation())))
			ev := finalOf(reqID)
			Expect(ev.Message.Status).To(Equal("FAILED"))
			Expect(ev.Message.FailureDetails.FailureCode).
				To(Equal("INFRASTRUCTURE_ERROR"))
			Expect(ev.Message.FailureDetails.Description).
				To(ContainSubstring("CREATE_FAILED"))
		})

	It("fails with RESOURCE_NOT_FOUND for a stack Heat does not know",
		func() {
			r := newResource("ghost")
			reqID, stackID := accepted(env.post(executePath, r.other("Adopt",
				stackTopology(uuid.NewString()), noauthLocation())))
			Expect(stackID).To(BeEmpty())
			Expect(finalOf(reqID).Message.FailureDetails.FailureCode).
				To(Equal("RESOURCE_NOT_FOUND"))
		})
})

var _ = Describe("Bad requests", func() {
	valid := func() map[string]any {
		return newResource("bad").create(zipPackage(helloPackage),
			noauthLocation(), nil)
	}
	DescribeTable("are answered 400 with a message that names the problem",
		func(change func(map[string]any), want string) {
			req := valid()
			change(req)
			a := env.post(executePath, req)
			Expect(a.Status).To(Equal(400), a.Text)
			Expect(a.Body["status"]).To(BeNumerically("==", 400))
			Expect(a.Body["localizedMessage"]).To(ContainSubstring(want))
		},
		Entry("no lifecycleName", func(r map[string]any) {
			delete(r, "lifecycleName")
		}, "lifecycleName"),
		Entry("unsupported lifecycle", func(r map[string]any) {
			r["lifecycleName"] = "Upgrade"
		}, "supported are Create, Delete, Adopt"),
		Entry("no driverFiles", func(r map[string]any) {
			delete(r, "driverFiles")
		}, "driverFiles"),
		Entry("driverFiles not base64", func(r map[string]any) {
			r["driverFiles"] = "%%% not base64 %%%"
		}, "base64"),
		Entry("driverFiles not a zip", func(r map[string]any) {
			r["driverFiles"] = "aGVsbG8gd29ybGQ="
		}, "not a zip"),
		Entry("no heat.yaml", func(r map[string]any) {
			r["driverFiles"] = zipFiles(map[string]string{"README": "x"})
		}, "heat.yaml"),
		Entry("a TOSCA template", func(r map[string]any) {
			r["driverFiles"] = zipFiles(map[string]string{"tosca.yaml": "x"})
		}, "TOSCA"),
		Entry("no resourceId", func(r map[string]any) {
			delete(r["systemProperties"].(map[string]any), "resourceId")
		}, "systemProperties.resourceId"),
		Entry("no deploymentLocation", func(r map[string]any) {
			delete(r, "deploymentLocation")
		}, "deploymentLocation"),
		Entry("location without os_api_url", func(r map[string]any) {
			r["deploymentLocation"] = map[string]any{"name": "x",
				"properties": map[string]any{"os_auth_enabled": false}}
		}, "os_api_url"),
		Entry("os_auth_enabled neither true nor false", func(r map[string]any) {
			loc := r["deploymentLocation"].(map[string]any)
			loc["properties"].(map[string]any)["os_auth_enabled"] = "maybe"
		}, "os_auth_enabled"),
		Entry("a template Heat refuses", func(r map[string]any) {
			r["driverFiles"] = zipFiles(map[string]string{"heat.yaml": "" +
				"heat_template_version: 2018-08-31\nresources:\n  x:\n" +
				"    type: OS::No::Such\n"})
		}, "OS::No::Such"),
		Entry("timeout_mins not a number", func(r map[string]any) {
			r["requestProperties"] = map[string]any{"timeout_mins": "soon"}
		}, "timeout_mins"),
	)

	It("answers 400 for a body that is not JSON", func() {
		a := env.postRaw(executePath, []byte("{not json"))
		Expect(a.Status).To(Equal(400))
		Expect(a.Body["localizedMessage"]).To(ContainSubstring("not valid JSON"))
	})

	It("creates nothing in Heat for a refused request", func() {
		before := heatStackCount()
		req := valid()
		req["lifecycleName"] = "Upgrade"
		Expect(env.post(executePath, req).Status).To(Equal(400))
		Expect(heatStackCount()).To(Equal(before))
	})
})

func heatStackCount() int {
	code, body := env.heatGet("/stacks")
	ExpectWithOffset(1, code).To(Equal(200))
	stacks, _ := body["stacks"].([]any)
	n := 0
	for _, s := range stacks {
		if !strings.HasPrefix(s.(map[string]any)["stack_status"].(string),
			"DELETE") {
			n++
		}
	}
	return n
}

// helloPackage is the example package of the docs, which make demo uses
// too: the tests keep it working.
const helloPackage = "../../docs/examples/hello-stack"

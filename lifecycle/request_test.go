package lifecycle_test

import (
	"encoding/json"
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/lifecycle"
)

// validCreate is an execute request body that a Create accepts.
const validCreate = `{
	"lifecycleName": "Create",
	"driverFiles": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==",
	"systemProperties": {"resourceId": "` + resourceID + `", "resourceName": "web"},
	"resourceProperties": {"flavor": "m1.small"},
	"requestProperties": {},
	"associatedTopology": {},
	"deploymentLocation": {"name": "lab", "type": "Openstack",
		"properties": {"os_api_url": "http://10.0.0.5:5000"}}
}`

// request decodes validCreate and lets edit change it as a JSON object.
func request(edit func(body map[string]any)) *lifecycle.ExecuteRequest {
	GinkgoHelper()
	var body map[string]any
	Expect(json.Unmarshal([]byte(validCreate), &body)).To(Succeed())
	if edit != nil {
		edit(body)
	}
	text, err := json.Marshal(body)
	Expect(err).NotTo(HaveOccurred())
	var req lifecycle.ExecuteRequest
	Expect(json.Unmarshal(text, &req)).To(Succeed())
	return &req
}

// expectRequestError checks err is a RequestError about field.
func expectRequestError(err error, field string) {
	GinkgoHelper()
	var re *lifecycle.RequestError
	Expect(errors.As(err, &re)).To(BeTrue(), "want a *RequestError, got %T: %v", err, err)
	Expect(re.Field).To(Equal(field))
	Expect(err.Error()).To(HavePrefix(field + ": "))
}

var _ = Describe("Reading the lifecycle name", func() {

	DescribeTable("accepts the supported transitions in any case",
		func(name string, want lifecycle.Transition) {
			got, err := lifecycle.ParseTransition(name)

			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		Entry(nil, "Create", lifecycle.Create),
		Entry(nil, "create", lifecycle.Create),
		Entry(nil, "CREATE", lifecycle.Create),
		Entry(nil, "Delete", lifecycle.Delete),
		Entry(nil, "dElEtE", lifecycle.Delete),
		Entry(nil, "adopt", lifecycle.Adopt),
		Entry(nil, "ADOPT", lifecycle.Adopt),
	)

	DescribeTable("refuses an unsupported transition, naming the ones supported",
		func(name string) {
			_, err := lifecycle.ParseTransition(name)

			expectRequestError(err, "lifecycleName")
			Expect(err.Error()).To(ContainSubstring("Create, Delete, Adopt"))
			Expect(err.Error()).To(ContainSubstring("%q", name))
		},
		Entry(nil, "Install"),
		Entry(nil, "Upgrade"),
		Entry(nil, "Create "),
		Entry(nil, ""),
	)
})

var _ = Describe("Checking an execute request", func() {

	It("accepts a complete Create", func() {
		t, err := request(nil).Validate()

		Expect(err).NotTo(HaveOccurred())
		Expect(t).To(Equal(lifecycle.Create))
	})

	It("accepts a Delete without a resource name", func() {
		t, err := request(func(b map[string]any) {
			b["lifecycleName"] = "delete"
			b["systemProperties"] = map[string]any{"resourceId": resourceID}
		}).Validate()

		Expect(err).NotTo(HaveOccurred())
		Expect(t).To(Equal(lifecycle.Delete))
	})

	DescribeTable("refuses a request that lacks what every transition needs, naming the field",
		func(field string, edit func(b map[string]any)) {
			_, err := request(edit).Validate()
			expectRequestError(err, field)
		},
		Entry("no lifecycleName", "lifecycleName",
			func(b map[string]any) { delete(b, "lifecycleName") }),
		Entry("an unsupported lifecycleName", "lifecycleName",
			func(b map[string]any) { b["lifecycleName"] = "Upgrade" }),
		Entry("no driverFiles", "driverFiles",
			func(b map[string]any) { delete(b, "driverFiles") }),
		Entry("no systemProperties", "systemProperties",
			func(b map[string]any) { delete(b, "systemProperties") }),
		Entry("no deploymentLocation", "deploymentLocation",
			func(b map[string]any) { delete(b, "deploymentLocation") }),
		Entry("a deploymentLocation without properties", "deploymentLocation.properties",
			func(b map[string]any) {
				b["deploymentLocation"] = map[string]any{"name": "lab"}
			}),
		Entry("a topology entry without an id", "associatedTopology.InfrastructureStack",
			func(b map[string]any) {
				b["associatedTopology"] = map[string]any{
					"InfrastructureStack": map[string]any{"id": " ", "type": "Openstack"}}
			}),
	)

	It("refuses a Delete whose systemProperties is null, as missing", func() {
		_, err := request(func(b map[string]any) {
			b["lifecycleName"] = "Delete"
			b["systemProperties"] = nil
		}).Validate()

		expectRequestError(err, "systemProperties")
	})

	DescribeTable("refuses a Create without what names its stack",
		func(field string, systemProperties map[string]any) {
			_, err := request(func(b map[string]any) {
				b["systemProperties"] = systemProperties
			}).Validate()

			expectRequestError(err, field)
			Expect(err.Error()).To(ContainSubstring("name the stack"))
		},
		Entry("no resourceId", "systemProperties.resourceId",
			map[string]any{"resourceName": "web"}),
		Entry("a blank resourceId", "systemProperties.resourceId",
			map[string]any{"resourceId": "  ", "resourceName": "web"}),
		Entry("no resourceName", "systemProperties.resourceName",
			map[string]any{"resourceId": resourceID}),
		Entry("a typed but empty resourceName", "systemProperties.resourceName",
			map[string]any{"resourceId": resourceID,
				"resourceName": map[string]any{"type": "string", "value": ""}}),
	)
})

var _ = Describe("The topology naming a request's stack", func() {
	It("is one InfrastructureStack entry of type Openstack", func() {
		body, err := json.Marshal(lifecycle.StackTopology("stack-1"))

		Expect(err).NotTo(HaveOccurred())
		Expect(body).To(MatchJSON(`{"InfrastructureStack": {"id": "stack-1", "type": "Openstack"}}`))
	})
})

var _ = Describe("A lifecycle execution event", func() {
	It("carries empty outputs and topology as {} rather than null, and no failureDetails when it did not fail", func() {
		body, err := json.Marshal(lifecycle.Message{RequestID: "r-1", Status: lifecycle.InProgress})

		Expect(err).NotTo(HaveOccurred())
		Expect(body).To(MatchJSON(`{"requestId": "r-1", "status": "IN_PROGRESS",
			"outputs": {}, "associatedTopology": {}}`))
	})

	It("carries the failure's code and description when it failed", func() {
		body, err := json.Marshal(lifecycle.Message{
			RequestID: "r-2", Status: lifecycle.Failed,
			FailureDetails: &lifecycle.FailureDetails{
				FailureCode: "INFRASTRUCTURE_ERROR", Description: "stack failed"},
			Outputs:            map[string]any{"ip": "10.0.0.7"},
			AssociatedTopology: lifecycle.StackTopology("stack-2"),
		})

		Expect(err).NotTo(HaveOccurred())
		Expect(body).To(MatchJSON(`{"requestId": "r-2", "status": "FAILED",
			"failureDetails": {"failureCode": "INFRASTRUCTURE_ERROR", "description": "stack failed"},
			"outputs": {"ip": "10.0.0.7"},
			"associatedTopology": {"InfrastructureStack": {"id": "stack-2", "type": "Openstack"}}}`))
	})

	It("uses Brent's status words", func() {
		Expect([]lifecycle.Status{lifecycle.InProgress, lifecycle.Complete, lifecycle.Failed}).To(
			Equal([]lifecycle.Status{"IN_PROGRESS", "COMPLETE", "FAILED"}))
	})
})

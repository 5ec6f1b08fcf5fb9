package server

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/lifecycle"
)

var _ = Describe("Decoding a JSON request body (decodeJSON)", func() {
	decode := func(body string) (*lifecycle.ExecuteRequest, error) {
		var req lifecycle.ExecuteRequest
		err := decodeJSON([]byte(body), &req)
		return &req, err
	}

	It("decodes a well-formed body", func() {
		req, err := decode(`{"lifecycleName": "Delete", "driverFiles": "x"}`)

		Expect(err).NotTo(HaveOccurred())
		Expect(req.LifecycleName).To(Equal("Delete"))
		Expect(*req.DriverFiles).To(Equal("x"))
	})

	It("says an empty or blank body is empty and a JSON object was expected", func() {
		_, err := decode(" \n\t")

		Expect(err).To(MatchError("the request body is empty; expected a JSON object"))
	})

	It("says where invalid JSON goes wrong", func() {
		_, err := decode(`{"lifecycleName": Create}`)

		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(HavePrefix("the request body is not valid JSON (at byte 19)"))
	})

	It("says a body that is not an object must be one", func() {
		_, err := decode(`"Create"`)

		Expect(err).To(MatchError("the request body must be a JSON object, not string"))
	})

	DescribeTable("names a field of the wrong type and what it must be",
		func(body, want string) {
			_, err := decode(body)

			Expect(err).To(MatchError(want))
		},
		Entry(nil, `{"lifecycleName": true}`, "lifecycleName must be a string, not bool"),
		Entry(nil, `{"driverFiles": 12}`, "driverFiles must be a string, not number"),
		Entry(nil, `{"systemProperties": []}`, "systemProperties must be an object, not array"),
		Entry(nil, `{"deploymentLocation": {"name": 1}}`, "deploymentLocation.name must be a string, not number"),
		Entry(nil, `{"associatedTopology": {"InfrastructureStack": "s-1"}}`,
			"associatedTopology.InfrastructureStack must be an object, not string"),
	)
})

var _ = Describe("The tracing context of a request", func() {
	It("is accepted when small, as Brent sends it", func() {
		Expect(checkTrace(lifecycle.Trace{
			"x-tracectx-transactionid": "0d3b6f2e-58a4-4b1e-9d0a-4a3f7d2c9e11",
			"x-tracectx-processid":     "p-1"})).To(Succeed())
	})

	It("is refused when a value is too long, naming the header", func() {
		err := checkTrace(lifecycle.Trace{
			"x-tracectx-transactionid": strings.Repeat("a", 513)})
		Expect(err).To(MatchError(ContainSubstring(
			"x-tracectx-transactionid is 513 bytes long")))
	})

	It("is refused when it has too many headers", func() {
		trace := lifecycle.Trace{}
		for i := range 17 {
			trace[fmt.Sprintf("x-tracectx-h%d", i)] = "v"
		}
		Expect(checkTrace(trace)).To(MatchError(ContainSubstring(
			"17 X-Tracectx-* headers")))
	})
})

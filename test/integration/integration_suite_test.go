// Package integration drives the real driver binary through its HTTP API
// against a real OpenStack Heat (and Keystone) on 127.0.0.1 and a
// Kafka-protocol broker (kfake) in the test process, and reads every
// result from Kafka, as Brent would.
package integration

import (
	"fmt"
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Integration: driver + real Heat + Kafka")
}

var env *environment

var _ = BeforeSuite(func() {
	var err error
	env, err = startEnvironment()
	if err != nil {
		if skip, ok := err.(*cannotRun); ok && os.Getenv("CI") != "true" {
			fmt.Fprintf(os.Stderr, "\n%s\n%s\n%s\n\n", banner,
				"SKIPPING THE INTEGRATION SUITE: "+skip.Error(), banner)
			Skip(skip.Error())
		}
		Fail(err.Error())
	}
})

var _ = AfterSuite(func() {
	if env != nil {
		fmt.Fprintf(GinkgoWriter, "stacks created in Heat: %d\n",
			env.stacksCreated())
		fmt.Printf("\nintegration: the suite made %d stacks in real Heat\n",
			env.stacksCreated())
		env.stop()
	}
})

const banner = "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"

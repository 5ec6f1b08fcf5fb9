package testdrive_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// TestTestdrive runs the Ginkgo specs of package testdrive: lint and the
// argument handling offline, and create, delete and find against a real
// Heat and driver (see lab_test.go).
func TestTestdrive(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Testdrive Suite")
}

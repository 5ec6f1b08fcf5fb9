package resourcepkg_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// TestResourcepkg runs the Ginkgo specs of package resourcepkg.
func TestResourcepkg(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Resource Package Suite")
}

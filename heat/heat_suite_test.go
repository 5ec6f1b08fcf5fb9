package heat_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// TestHeat runs the Ginkgo specs of package heat, both the external ones
// (package heat_test) and the internal ones (package heat).
func TestHeat(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Heat Suite")
}

package discovery

import (
	"context"
	"time"
)

// Cloud is what discovery needs from an OpenStack location. [NewOpenStackCloud]
// implements it with gophercloud; tests use fakes.
//
// Methods return (nil, nil) or an empty slice for "nothing there" and keep
// errors for failures, so a missing object is never mistaken for a broken
// cloud.
type Cloud interface {
	// StacksNamed lists the stacks whose name is exactly name, leaving out
	// stacks that are deleted or being deleted. The stacks may be
	// summaries: Parameters and Outputs need not be filled in.
	StacksNamed(ctx context.Context, name string) ([]Stack, error)
	// StackByID returns the full stack (parameters and outputs included),
	// or (nil, nil) when Heat does not know the id or the stack is deleted
	// or being deleted.
	StackByID(ctx context.Context, id string) (*Stack, error)
	// StackResources maps the names of a stack's own resources (not those
	// of nested stacks) to their physical ids. It is only called when a
	// template asks for resources.
	StackResources(ctx context.Context, s Stack) (map[string]string, error)
	// NetworksNamed lists the networks whose name is exactly name.
	NetworksNamed(ctx context.Context, name string) ([]Network, error)
	// NetworkByID returns the network, or (nil, nil) when Neutron does not
	// know the id.
	NetworkByID(ctx context.Context, id string) (*Network, error)
	// Subnets lists the subnets of a network. It is only called when a
	// template asks for subnet attributes.
	Subnets(ctx context.Context, networkID string) ([]Subnet, error)
}

// Stack is what discovery uses of a Heat stack.
type Stack struct {
	ID           string
	Name         string
	Status       string
	StatusReason string
	// CreationTime is zero when Heat did not say.
	CreationTime time.Time
	// Parameters holds the stack's parameters as Heat reports them (Heat
	// gives every value as a string, including its own OS::stack_id etc).
	Parameters map[string]string
	// Outputs maps output keys to their values; an output Heat could not
	// compute is present with a nil value.
	Outputs map[string]any
}

// Heat stack states that mean the stack is gone or going.
const (
	statusDeleteComplete   = "DELETE_COMPLETE"
	statusDeleteInProgress = "DELETE_IN_PROGRESS"
)

// IsDeleted reports whether the stack is deleted or being deleted, which
// discovery treats as not there: a reference to it would not last.
func (s Stack) IsDeleted() bool { return deletedStatus(s.Status) }

func deletedStatus(status string) bool {
	return status == statusDeleteComplete || status == statusDeleteInProgress
}

// Network is what discovery uses of a Neutron network.
type Network struct {
	ID     string
	Name   string
	Status string
	// NetworkType, PhysicalNetwork and SegmentationID come from the
	// provider extension; Neutron shows them to administrators only by
	// default, so they are often empty (nil for SegmentationID).
	NetworkType     string
	PhysicalNetwork string
	SegmentationID  *int64
	// SubnetIDs lists the network's subnets in Neutron's order; the first
	// one is the subnet whose attributes discovery offers.
	SubnetIDs []string
}

// Subnet is what discovery uses of a Neutron subnet.
type Subnet struct {
	ID        string
	NetworkID string
	IPVersion int
	CIDR      string
	// GatewayIP is empty when the subnet has no gateway.
	GatewayIP       string
	EnableDHCP      bool
	AllocationPools []AllocationPool
}

// AllocationPool is a range of addresses Neutron hands out on a subnet.
type AllocationPool struct {
	Start string
	End   string
}

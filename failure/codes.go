// Package failure names the failure codes that Brent understands and decides
// which one fits what OpenStack said. It is the one place where OpenStack's
// words become a code: every path that reports a FAILED request asks here.
package failure

// Code is a failure code carried in the failureDetails of a FAILED message.
type Code string

// The failure codes of the Brent contract.
const (
	// InsufficientCapacity: a quota or limit was hit, or the cloud has no
	// room (no valid host, not enough memory, disk or addresses).
	InsufficientCapacity Code = "INSUFFICIENT_CAPACITY"
	// ResourceAlreadyExists: the thing to create exists and is not ours.
	ResourceAlreadyExists Code = "RESOURCE_ALREADY_EXISTS"
	// ResourceNotFound: the stack, or something it refers to (image,
	// flavor, network, key pair, ...), does not exist.
	ResourceNotFound Code = "RESOURCE_NOT_FOUND"
	// InfrastructureError: OpenStack failed in any other way.
	InfrastructureError Code = "INFRASTRUCTURE_ERROR"
	// InternalError: the driver itself failed.
	InternalError Code = "INTERNAL_ERROR"
)

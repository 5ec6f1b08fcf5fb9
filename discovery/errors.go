package discovery

import (
	"fmt"
	"strings"
)

// TemplateError reports a discovery template that cannot be used: it is not
// valid YAML, does not have the expected shape, uses something this driver
// does not support, or asks for an attribute the found object does not have.
// The server answers these with 400 Bad Request, since only a change to the
// package can fix them.
type TemplateError struct {
	// File is the template's file name inside the package, e.g.
	// "discover.yaml".
	File string
	// Line is the 1-based line the problem was found on, or 0 when the
	// problem has no single line (a missing file, a missing section).
	Line int
	// Problem says what is wrong, without the file and line.
	Problem string
}

// Error formats the problem as "discover.yaml line 7: problem", leaving the
// line out when it is not known.
func (e *TemplateError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Problem)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Problem)
}

// AmbiguousError reports that a name matched more than one object, so the
// template must name the one it means by id. Discovery never picks one of
// several matches, as a wrong pick would silently bind the reference to an
// unrelated object. The server answers these with 400 Bad Request.
type AmbiguousError struct {
	// Kind is "stack" or "network".
	Kind string
	// Name is the name that was searched for.
	Name string
	// IDs holds the ids of every object that matched, in the order the
	// cloud listed them; len(IDs) is the number of matches.
	IDs []string
	// IDProperty is the node property that selects by id instead, e.g.
	// "stack_id", so the message can tell the author what to use.
	IDProperty string
}

// Count is the number of objects that matched the name.
func (e *AmbiguousError) Count() int { return len(e.IDs) }

// Error says how many objects matched and asks for an id. At most ten ids
// are listed, to keep the message readable.
func (e *AmbiguousError) Error() string {
	const maxListed = 10
	ids := strings.Join(e.IDs, ", ")
	if len(e.IDs) > maxListed {
		ids = fmt.Sprintf("%s and %d more",
			strings.Join(e.IDs[:maxListed], ", "), len(e.IDs)-maxListed)
	}
	return fmt.Sprintf(
		"%d %ss are named %q (ids %s); set %s instead of the name to "+
			"say which one is meant",
		len(e.IDs), e.Kind, e.Name, ids, e.IDProperty)
}

// ErrNoNetworkService is returned (as *ErrNoNetworkService) by the
// OpenStack [Cloud] for network look-ups when the deployment location has no
// Neutron client, which happens when the location is not set up with
// Keystone. The server answers it with 400 Bad Request saying that finding
// networks needs a Keystone-backed location.
type ErrNoNetworkService struct{}

// Error explains why the network could not be looked up.
func (*ErrNoNetworkService) Error() string {
	return "finding networks needs the Neutron network service, and this " +
		"deployment location has none (it needs Keystone to look Neutron up)"
}

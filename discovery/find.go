package discovery

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Names used in associatedTopology. A stack gets the entry the driver's
// Create and Adopt give it, so a later Delete or Adopt finds it the same
// way. A network gets an entry of its own type: it is not a stack, and the
// driver must never try to delete it as one.
const (
	// TopologyStackEntry is the associatedTopology key of a found stack.
	TopologyStackEntry = "InfrastructureStack"
	// TopologyStackType is the type of a found stack's entry.
	TopologyStackType = "Openstack"
	// TopologyNetworkEntry is the associatedTopology key of a found
	// network.
	TopologyNetworkEntry = "InfrastructureNetwork"
	// TopologyNetworkType is the type of a found network's entry.
	TopologyNetworkType = "OpenstackNetwork"
)

// TopologyEntry names one object in associatedTopology.
type TopologyEntry struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Result is what Find found, shaped as the find-reference answer's
// "result" object.
type Result struct {
	// ResourceID is the found object's id.
	ResourceID string `json:"resourceId"`
	// AssociatedTopology names the found object (see TopologyStackEntry
	// and TopologyNetworkEntry).
	AssociatedTopology map[string]TopologyEntry `json:"associatedTopology"`
	// Outputs holds every template output, keyed by output name, as
	// values encoding/json can write.
	Outputs map[string]any `json:"outputs"`
}

// Find looks for the object the template describes. instanceName is the
// value of the instance_name input; when it is empty the input's default
// applies. Find returns (nil, nil) when nothing matches, an *AmbiguousError
// when a name matches more than one object, a *TemplateError when an
// output asks for something the found object lacks, and cloud errors
// wrapped with %w.
func (t *Template) Find(
	ctx context.Context, cloud Cloud, instanceName string,
) (*Result, error) {
	value, err := t.selectorValue(instanceName)
	if err != nil {
		return nil, err
	}
	if t.kind == KindNetwork {
		return t.findNetwork(ctx, cloud, value)
	}
	return t.findStack(ctx, cloud, value)
}

// selectorValue works out the value of the selecting property.
func (t *Template) selectorValue(instanceName string) (string, error) {
	sel := t.selector
	if sel.input == "" {
		return sel.literal, nil
	}
	if sel.input == InstanceNameInput && instanceName != "" {
		return instanceName, nil
	}
	if v, ok := t.defaults[sel.input]; ok && v != "" {
		return v, nil
	}
	return "", &TemplateError{File: t.file, Line: sel.line,
		Problem: fmt.Sprintf("property %s reads input %q, which has no "+
			"value: the request gave no instance name and the input has "+
			"no default", sel.property, sel.input)}
}

func (t *Template) findStack(
	ctx context.Context, cloud Cloud, value string,
) (*Result, error) {
	id := value
	if !t.selector.byID {
		listed, err := cloud.StacksNamed(ctx, value)
		if err != nil {
			return nil, fmt.Errorf("looking up stacks named %q: %w", value,
				err)
		}
		var ids []string
		for _, s := range listed {
			// Re-checked here so a cloud that matches loosely, or lists
			// deleted stacks, cannot make discovery pick the wrong one.
			if s.Name == value && !s.IsDeleted() {
				ids = append(ids, s.ID)
			}
		}
		switch len(ids) {
		case 0:
			return nil, nil
		case 1:
			id = ids[0]
		default:
			return nil, &AmbiguousError{Kind: "stack", Name: value,
				IDs: ids, IDProperty: propStackID}
		}
	}
	stack, err := cloud.StackByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading stack %s: %w", id, err)
	}
	if stack == nil || stack.IsDeleted() {
		return nil, nil
	}
	var resources map[string]string
	if t.needsResources {
		resources, err = cloud.StackResources(ctx, *stack)
		if err != nil {
			return nil, fmt.Errorf("listing resources of stack %s: %w",
				stack.ID, err)
		}
	}
	src := stackSource{stack: stack, resources: resources}
	outputs, err := t.evalOutputs(func(ref *attrRef) (any, error) {
		return t.stackAttribute(src, ref)
	})
	if err != nil {
		return nil, err
	}
	return &Result{
		ResourceID: stack.ID,
		AssociatedTopology: map[string]TopologyEntry{
			TopologyStackEntry: {ID: stack.ID, Type: TopologyStackType},
		},
		Outputs: outputs,
	}, nil
}

func (t *Template) findNetwork(
	ctx context.Context, cloud Cloud, value string,
) (*Result, error) {
	var network *Network
	if t.selector.byID {
		n, err := cloud.NetworkByID(ctx, value)
		if err != nil {
			return nil, fmt.Errorf("reading network %s: %w", value, err)
		}
		network = n
	} else {
		listed, err := cloud.NetworksNamed(ctx, value)
		if err != nil {
			return nil, fmt.Errorf("looking up networks named %q: %w",
				value, err)
		}
		var matches []Network
		for _, n := range listed {
			if n.Name == value {
				matches = append(matches, n)
			}
		}
		switch len(matches) {
		case 0:
		case 1:
			network = &matches[0]
		default:
			ids := make([]string, len(matches))
			for i, n := range matches {
				ids[i] = n.ID
			}
			return nil, &AmbiguousError{Kind: "network", Name: value,
				IDs: ids, IDProperty: propNetworkID}
		}
	}
	if network == nil {
		return nil, nil
	}
	src := networkSource{network: network}
	if t.needsSubnets {
		subnets, err := cloud.Subnets(ctx, network.ID)
		if err != nil {
			return nil, fmt.Errorf("listing subnets of network %s: %w",
				network.ID, err)
		}
		src.subnet = firstSubnet(network, subnets)
	}
	outputs, err := t.evalOutputs(src.attribute)
	if err != nil {
		return nil, err
	}
	return &Result{
		ResourceID: network.ID,
		AssociatedTopology: map[string]TopologyEntry{
			TopologyNetworkEntry: {ID: network.ID, Type: TopologyNetworkType},
		},
		Outputs: outputs,
	}, nil
}

// firstSubnet picks the network's first subnet in the order the network
// lists them, which is the order Neutron keeps; the subnet list's own order
// is only the fallback.
func firstSubnet(n *Network, subnets []Subnet) *Subnet {
	for _, id := range n.SubnetIDs {
		for i := range subnets {
			if subnets[i].ID == id {
				return &subnets[i]
			}
		}
	}
	for i := range subnets {
		if subnets[i].NetworkID == "" || subnets[i].NetworkID == n.ID {
			return &subnets[i]
		}
	}
	return nil
}

// attrFunc gives the value of one attribute reference.
type attrFunc func(ref *attrRef) (any, error)

func (t *Template) evalOutputs(attr attrFunc) (map[string]any, error) {
	out := make(map[string]any, len(t.outputs))
	for _, o := range t.outputs {
		v, err := eval(o.value, attr)
		if err != nil {
			return nil, err
		}
		out[o.name] = v
	}
	return out, nil
}

func eval(e *expr, attr attrFunc) (any, error) {
	switch e.kind {
	case attrExpr:
		return attr(e.attr)
	case mapExpr:
		m := make(map[string]any, len(e.keys))
		for i, k := range e.keys {
			v, err := eval(e.vals[i], attr)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case listExpr:
		l := make([]any, 0, len(e.items))
		for _, item := range e.items {
			v, err := eval(item, attr)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	default:
		// A copy, so callers may change a result without changing the
		// template that other requests share.
		return copyValue(e.constant), nil
	}
}

// copyValue deep-copies the maps and lists of a plain value.
func copyValue(v any) any {
	switch c := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(c))
		for k, item := range c {
			m[k] = copyValue(item)
		}
		return m
	case []any:
		l := make([]any, len(c))
		for i, item := range c {
			l[i] = copyValue(item)
		}
		return l
	default:
		return v
	}
}

// missing reports an attribute the found object does not have.
func (t *Template) missing(ref *attrRef, what string, have []string) error {
	sort.Strings(have)
	list := "none"
	if len(have) > 0 {
		const maxListed = 20
		if len(have) > maxListed {
			have = append(have[:maxListed:maxListed], "...")
		}
		list = strings.Join(have, ", ")
	}
	return &TemplateError{File: t.file, Line: ref.line,
		Problem: fmt.Sprintf("output %q reads [%s], but the found %s has "+
			"no %s (it has: %s)", ref.output, ref.spelled, t.kind, what,
			list)}
}

// stackSource answers attribute references from a found stack.
type stackSource struct {
	stack     *Stack
	resources map[string]string
}

func (t *Template) stackAttribute(src stackSource, ref *attrRef) (any,
	error) {
	s := src.stack
	switch ref.group {
	case "id":
		return s.ID, nil
	case "stack_name":
		return s.Name, nil
	case "stack_status":
		return s.Status, nil
	case "stack_status_reason":
		return s.StatusReason, nil
	case "creation_time":
		if s.CreationTime.IsZero() {
			return nil, nil
		}
		return s.CreationTime.UTC().Format(time.RFC3339), nil
	case "parameters":
		if ref.name == "" {
			m := make(map[string]any, len(s.Parameters))
			for k, v := range s.Parameters {
				m[k] = v
			}
			return m, nil
		}
		v, ok := s.Parameters[ref.name]
		if !ok {
			return nil, t.missing(ref, "parameter "+strconv.Quote(ref.name),
				keys(s.Parameters))
		}
		return v, nil
	case "resources":
		if ref.name == "" {
			m := make(map[string]any, len(src.resources))
			for k, v := range src.resources {
				m[k] = nullIfEmpty(v)
			}
			return m, nil
		}
		v, ok := src.resources[ref.name]
		if !ok {
			return nil, t.missing(ref, "resource "+strconv.Quote(ref.name),
				keys(src.resources))
		}
		return nullIfEmpty(v), nil
	default: // "outputs"
		if ref.name == "" {
			m := make(map[string]any, len(s.Outputs))
			for k, v := range s.Outputs {
				m[k] = v
			}
			return m, nil
		}
		v, ok := s.Outputs[ref.name]
		if !ok {
			return nil, t.missing(ref, "output or attribute "+
				strconv.Quote(ref.name), keys(s.Outputs))
		}
		return walk(v, ref.rest), nil
	}
}

// walk follows a path of map keys and list indexes into an output value.
// A step that does not fit the value gives nil: the output exists, it just
// holds no value there.
func walk(v any, path []*tnode) any {
	for _, step := range path {
		switch c := v.(type) {
		case map[string]any:
			v = c[step.text]
		case []any:
			i, err := strconv.Atoi(step.text)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// nullIfEmpty turns "" into nil, for attributes whose empty value means
// "not set" rather than an empty name.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// networkSource answers attribute references from a found network and its
// first subnet (nil when it has none).
type networkSource struct {
	network *Network
	subnet  *Subnet
}

func (src networkSource) attribute(ref *attrRef) (any, error) {
	n, sub := src.network, src.subnet
	switch ref.group {
	case "network_name":
		return n.Name, nil
	case "network_id":
		return n.ID, nil
	case "segmentation_id":
		if n.SegmentationID == nil {
			return nil, nil
		}
		return *n.SegmentationID, nil
	case "network_type":
		return nullIfEmpty(n.NetworkType), nil
	case "physical_network":
		return nullIfEmpty(n.PhysicalNetwork), nil
	}
	if sub == nil {
		return nil, nil
	}
	switch ref.group {
	case "ip_version":
		if sub.IPVersion == 0 {
			return nil, nil
		}
		return sub.IPVersion, nil
	case "cidr":
		return nullIfEmpty(sub.CIDR), nil
	case "start_ip":
		if len(sub.AllocationPools) == 0 {
			return nil, nil
		}
		return nullIfEmpty(sub.AllocationPools[0].Start), nil
	case "end_ip":
		if len(sub.AllocationPools) == 0 {
			return nil, nil
		}
		return nullIfEmpty(sub.AllocationPools[0].End), nil
	case "gateway_ip":
		return nullIfEmpty(sub.GatewayIP), nil
	case "dhcp_enabled":
		return sub.EnableDHCP, nil
	}
	// Parse accepts only the attributes above.
	return nil, fmt.Errorf("discovery: unhandled network attribute %q",
		ref.group)
}

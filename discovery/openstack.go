package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/provider"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackresources"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stacks"
)

// errNoOrchestration is returned for stack look-ups without a Heat client;
// the server always has one, so this only guards against wiring mistakes.
var errNoOrchestration = errors.New("discovery: no Heat orchestration " +
	"client was given")

// openStackCloud is the Cloud backed by gophercloud service clients.
type openStackCloud struct {
	orchestration *gophercloud.ServiceClient
	network       *gophercloud.ServiceClient
}

// NewOpenStackCloud returns a Cloud that finds stacks through the Heat
// client orchestration and networks through the Neutron client network.
// network may be nil when the deployment location has no Keystone to look
// Neutron up with; network look-ups then fail with *ErrNoNetworkService.
func NewOpenStackCloud(
	orchestration, network *gophercloud.ServiceClient,
) Cloud {
	return &openStackCloud{orchestration: orchestration, network: network}
}

// listStacks lists stacks matching opts, leaving out deleted and deleting
// ones. Heat's list already hides DELETE_COMPLETE stacks unless asked; the
// status check here also drops stacks still being deleted.
func (c *openStackCloud) listStacks(
	ctx context.Context, opts stacks.ListOpts,
) ([]stacks.ListedStack, error) {
	if c.orchestration == nil {
		return nil, errNoOrchestration
	}
	pages, err := stacks.List(c.orchestration, opts).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	listed, err := stacks.ExtractStacks(pages)
	if err != nil {
		return nil, fmt.Errorf("reading Heat's stack list: %w", err)
	}
	kept := listed[:0]
	for _, s := range listed {
		if !deletedStatus(s.Status) {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// StacksNamed lists stacks through Heat's exact-match name filter. The
// stacks are summaries, without parameters and outputs.
func (c *openStackCloud) StacksNamed(
	ctx context.Context, name string,
) ([]Stack, error) {
	listed, err := c.listStacks(ctx, stacks.ListOpts{Name: name})
	if err != nil {
		return nil, err
	}
	out := make([]Stack, 0, len(listed))
	for _, s := range listed {
		// Heat's filter is exact; this guards against one that is not.
		if s.Name != name {
			continue
		}
		out = append(out, Stack{
			ID: s.ID, Name: s.Name, Status: s.Status,
			StatusReason: s.StatusReason, CreationTime: s.CreationTime,
		})
	}
	return out, nil
}

// StackByID finds the stack's name through Heat's id filter, then reads the
// full stack from /stacks/{name}/{id}. That avoids GET /stacks/{id}, whose
// answer is a redirect to an address Heat builds from its own settings,
// which need not be reachable from the driver.
func (c *openStackCloud) StackByID(
	ctx context.Context, id string,
) (*Stack, error) {
	listed, err := c.listStacks(ctx, stacks.ListOpts{ID: id})
	if err != nil {
		return nil, err
	}
	name := ""
	for _, s := range listed {
		if s.ID == id {
			name = s.Name
			break
		}
	}
	if name == "" {
		return nil, nil
	}
	got, err := stacks.Get(ctx, c.orchestration, name, id).Extract()
	if err != nil {
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			// Deleted between the list and the read.
			return nil, nil
		}
		return nil, err
	}
	if got == nil {
		return nil, fmt.Errorf("heat's answer for stack %s held no stack",
			id)
	}
	s := &Stack{
		ID: got.ID, Name: got.Name, Status: got.Status,
		StatusReason: got.StatusReason, CreationTime: got.CreationTime,
		Parameters: got.Parameters,
		Outputs:    make(map[string]any, len(got.Outputs)),
	}
	for _, o := range got.Outputs {
		key, ok := o["output_key"].(string)
		if !ok {
			continue
		}
		s.Outputs[key] = o["output_value"]
	}
	if s.IsDeleted() {
		return nil, nil
	}
	return s, nil
}

// StackResources lists the stack's top-level resources.
func (c *openStackCloud) StackResources(
	ctx context.Context, s Stack,
) (map[string]string, error) {
	if c.orchestration == nil {
		return nil, errNoOrchestration
	}
	pages, err := stackresources.List(c.orchestration, s.Name, s.ID,
		nil).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	resources, err := stackresources.ExtractResources(pages)
	if err != nil {
		return nil, fmt.Errorf("reading Heat's resource list: %w", err)
	}
	out := make(map[string]string, len(resources))
	for _, r := range resources {
		out[r.Name] = r.PhysicalID
	}
	return out, nil
}

// neutronNetwork is a Neutron network with the provider extension's
// fields, decoded together by gophercloud.
type neutronNetwork struct {
	networks.Network
	provider.NetworkProviderExt
}

func (n neutronNetwork) toNetwork() Network {
	out := Network{
		ID: n.ID, Name: n.Name, Status: n.Status,
		NetworkType:     n.NetworkType,
		PhysicalNetwork: n.PhysicalNetwork,
		SubnetIDs:       n.Subnets,
	}
	if id, err := strconv.ParseInt(n.SegmentationID, 10, 64); err == nil {
		out.SegmentationID = &id
	}
	// A network with several segments reports them in "segments" and has
	// no top-level provider fields; the first segment stands in for them.
	if out.NetworkType == "" && len(n.Segments) > 0 {
		seg := n.Segments[0]
		out.NetworkType = seg.NetworkType
		out.PhysicalNetwork = seg.PhysicalNetwork
		id := int64(seg.SegmentationID)
		if id != 0 {
			out.SegmentationID = &id
		}
	}
	return out
}

// NetworksNamed lists networks through Neutron's exact-match name filter.
func (c *openStackCloud) NetworksNamed(
	ctx context.Context, name string,
) ([]Network, error) {
	if c.network == nil {
		return nil, &ErrNoNetworkService{}
	}
	pages, err := networks.List(c.network,
		networks.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	var listed []neutronNetwork
	if err := networks.ExtractNetworksInto(pages, &listed); err != nil {
		return nil, fmt.Errorf("reading Neutron's network list: %w", err)
	}
	out := make([]Network, 0, len(listed))
	for _, n := range listed {
		if n.Name == name {
			out = append(out, n.toNetwork())
		}
	}
	return out, nil
}

// NetworkByID reads one network; a 404 means Neutron does not know it.
func (c *openStackCloud) NetworkByID(
	ctx context.Context, id string,
) (*Network, error) {
	if c.network == nil {
		return nil, &ErrNoNetworkService{}
	}
	var got neutronNetwork
	err := networks.Get(ctx, c.network, id).ExtractInto(&got)
	if err != nil {
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return nil, nil
		}
		return nil, err
	}
	if got.ID == "" {
		return nil, fmt.Errorf("neutron's answer for network %s held no "+
			"network", id)
	}
	n := got.toNetwork()
	return &n, nil
}

// Subnets lists the network's subnets.
func (c *openStackCloud) Subnets(
	ctx context.Context, networkID string,
) ([]Subnet, error) {
	if c.network == nil {
		return nil, &ErrNoNetworkService{}
	}
	pages, err := subnets.List(c.network,
		subnets.ListOpts{NetworkID: networkID}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	listed, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return nil, fmt.Errorf("reading Neutron's subnet list: %w", err)
	}
	out := make([]Subnet, 0, len(listed))
	for _, s := range listed {
		pools := make([]AllocationPool, len(s.AllocationPools))
		for i, p := range s.AllocationPools {
			pools[i] = AllocationPool{Start: p.Start, End: p.End}
		}
		out = append(out, Subnet{
			ID: s.ID, NetworkID: s.NetworkID, IPVersion: s.IPVersion,
			CIDR: s.CIDR, GatewayIP: s.GatewayIP,
			EnableDHCP: s.EnableDHCP, AllocationPools: pools,
		})
	}
	return out, nil
}

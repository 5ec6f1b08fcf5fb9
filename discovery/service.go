package discovery

import (
	"context"
	"errors"
	"strings"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/lifecycle"
	"github.com/tnco-drivers/openstack-driver/resourcepkg"
)

// FindRequest is the body of POST /api/driver/references/find.
type FindRequest struct {
	InstanceName       string                        `json:"instanceName"`
	DriverFiles        *string                       `json:"driverFiles"`
	DeploymentLocation *lifecycle.DeploymentLocation `json:"deploymentLocation"`
}

// Service answers find requests with the deployment location's shared
// OpenStack client.
type Service struct {
	clients *heat.Clients
	limits  resourcepkg.Limits
}

// NewService makes a Service.
func NewService(clients *heat.Clients, limits resourcepkg.Limits) *Service {
	return &Service{clients: clients, limits: limits}
}

// Find reads the request's discovery template and resolves it. A nil
// Result means nothing matched, which is not an error.
func (s *Service) Find(ctx context.Context, req *FindRequest) (*Result,
	error) {
	if strings.TrimSpace(req.InstanceName) == "" {
		return nil, &lifecycle.RequestError{Field: "instanceName",
			Problem: "missing or empty"}
	}
	if req.DriverFiles == nil {
		return nil, &lifecycle.RequestError{Field: "driverFiles",
			Problem: "missing; expected the base64 text of a zip holding " +
				"discover.yaml"}
	}
	if req.DeploymentLocation == nil ||
		req.DeploymentLocation.Properties == nil {
		return nil, &lifecycle.RequestError{Field: "deploymentLocation",
			Problem: "missing, or without properties"}
	}
	pkg, err := resourcepkg.Decode(*req.DriverFiles, s.limits)
	if err != nil {
		return nil, err
	}
	tmpl, err := ReadPackage(pkg.Files)
	if err != nil {
		return nil, err
	}
	loc, err := heat.ParseLocation(req.DeploymentLocation.Name,
		req.DeploymentLocation.Properties)
	if err != nil {
		return nil, err
	}
	cloud, err := s.clients.Cloud(ctx, loc)
	if err != nil {
		return nil, err
	}
	var network *gophercloud.ServiceClient
	if tmpl.Kind() == KindNetwork {
		n, err := cloud.Network()
		switch {
		case err == nil:
			network = n
		case !errors.Is(err, heat.ErrNoNetworkService):
			return nil, err
		}
	}
	res, err := tmpl.Find(ctx, NewOpenStackCloud(cloud.Orchestration(),
		network), req.InstanceName)
	if err != nil && !IsRequestProblem(err) {
		return nil, heat.WrapError("OpenStack", "find "+req.InstanceName,
			err)
	}
	return res, err
}

// IsRequestProblem reports whether err is the request's or the template's
// to fix, rather than the cloud's.
func IsRequestProblem(err error) bool {
	var tmpl *TemplateError
	var amb *AmbiguousError
	var none *ErrNoNetworkService
	return errors.As(err, &tmpl) || errors.As(err, &amb) ||
		errors.As(err, &none)
}

package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/tnco-drivers/openstack-driver/discovery"
	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/jobs"
	"github.com/tnco-drivers/openstack-driver/kafka"
	"github.com/tnco-drivers/openstack-driver/lifecycle"
	"github.com/tnco-drivers/openstack-driver/resourcepkg"
)

// StatusOf decides the HTTP status of an error from the domain, as the
// contract's table says: the sender's mistakes (request, package,
// deployment location, credentials, a template Heat refused) are 400; a
// dependency that cannot be reached or fails on its side is 503, which
// Brent may retry; anything else is the driver's own fault, 500.
func StatusOf(err error) int {
	var (
		request  *lifecycle.RequestError
		pkg      *resourcepkg.Error
		location *heat.LocationError
		bus      *kafka.UnavailableError
		queue    *jobs.UnavailableError
		api      *heat.APIError
	)
	switch {
	case errors.As(err, &request), errors.As(err, &pkg),
		errors.As(err, &location), errors.Is(err, heat.ErrNoEndpoint),
		errors.Is(err, heat.ErrNoNetworkService),
		discovery.IsRequestProblem(err):
		return http.StatusBadRequest
	case errors.As(err, &bus), errors.As(err, &queue),
		heat.IsUnavailable(err),
		errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.As(err, &api) && api.Status < 500:
		// Keystone refusing the credentials, Heat refusing the template
		// or its parameters: the request has to change.
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

package heat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// Options tune how clouds are reached.
type Options struct {
	// Timeout bounds each call to Keystone, Heat or Neutron.
	Timeout time.Duration
	// IdleTTL is how long the client of an unused location is kept.
	IdleTTL time.Duration
	// Transport, when set, wraps the HTTP transport of every client; the
	// driver uses it to count and time calls.
	Transport func(http.RoundTripper) http.RoundTripper
}

// Clients keeps one authenticated Cloud per deployment location, so that
// every request and every poll of a location shares one Keystone token
// until it expires (gophercloud then logs in again by itself, once).
type Clients struct {
	opts Options

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	ready    chan struct{}
	cloud    *Cloud
	err      error
	lastUsed time.Time
}

// NewClients makes an empty cache.
func NewClients(opts Options) *Clients {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.IdleTTL <= 0 {
		opts.IdleTTL = time.Hour
	}
	return &Clients{opts: opts, entries: map[string]*entry{}}
}

// Cloud gives the client of loc, logging in when there is none yet.
// Concurrent callers for one location wait for a single login.
func (c *Clients) Cloud(ctx context.Context, loc *Location) (*Cloud, error) {
	now := time.Now()
	c.mu.Lock()
	c.sweep(now)
	e, ok := c.entries[loc.Key()]
	if !ok {
		e = &entry{ready: make(chan struct{})}
		c.entries[loc.Key()] = e
		c.mu.Unlock()
		e.cloud, e.err = c.connect(ctx, loc)
		c.mu.Lock()
		if e.err != nil {
			// A failed login is not kept: the next request tries again.
			delete(c.entries, loc.Key())
		}
		close(e.ready)
	}
	e.lastUsed = now
	c.mu.Unlock()

	select {
	case <-e.ready:
		return e.cloud, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sweep drops clients unused for longer than IdleTTL; c.mu is held.
func (c *Clients) sweep(now time.Time) {
	for k, e := range c.entries {
		select {
		case <-e.ready:
			if now.Sub(e.lastUsed) > c.opts.IdleTTL {
				delete(c.entries, k)
			}
		default:
		}
	}
}

func (c *Clients) connect(ctx context.Context, loc *Location) (*Cloud,
	error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 32
	if loc.TLS != nil {
		transport.TLSClientConfig = loc.TLS.Clone()
	}
	var rt http.RoundTripper = transport
	if c.opts.Transport != nil {
		rt = c.opts.Transport(rt)
	}
	httpClient := http.Client{Transport: rt, Timeout: c.opts.Timeout}
	cloud := &Cloud{timeout: c.opts.Timeout}

	if !loc.AuthEnabled {
		provider, err := openstack.NewClient(loc.APIURL)
		if err != nil {
			return nil, &LocationError{Property: "os_api_url",
				Problem: err.Error()}
		}
		provider.HTTPClient = httpClient
		cloud.orchestration = &gophercloud.ServiceClient{
			ProviderClient: provider,
			Endpoint:       gophercloud.NormalizeURL(loc.APIURL),
			Type:           "orchestration",
		}
		return cloud, nil
	}

	provider, err := openstack.NewClient(loc.IdentityURL)
	if err != nil {
		return nil, &LocationError{Property: "os_auth_api",
			Problem: err.Error()}
	}
	provider.HTTPClient = httpClient
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	err = openstack.AuthenticateV3(ctx, provider, loc.authOptions(),
		gophercloud.EndpointOpts{})
	if err != nil {
		return nil, wrap("Keystone", "log in as "+loc.user(), err)
	}
	eo := gophercloud.EndpointOpts{Region: loc.Region,
		Availability: gophercloud.Availability(loc.Interface)}
	cloud.orchestration, err = openstack.NewOrchestrationV1(provider, eo)
	if err != nil {
		return nil, fmt.Errorf("Heat (orchestration) %s: %w", loc.where(),
			ErrNoEndpoint)
	}
	// Neutron is only needed to find networks: its client is made when
	// first asked for, so that a Neutron that is down then is not
	// remembered as missing.
	cloud.provider, cloud.endpoints = provider, eo
	return cloud, nil
}

func (loc *Location) authOptions() *gophercloud.AuthOptions {
	opts := &gophercloud.AuthOptions{
		IdentityEndpoint: loc.IdentityURL,
		Username:         loc.Username,
		UserID:           loc.UserID,
		Password:         loc.Password,
		DomainName:       loc.UserDomainName,
		DomainID:         loc.UserDomainID,
		AllowReauth:      true,
	}
	if loc.UserID != "" {
		// Keystone refuses a user id together with a domain.
		opts.DomainName, opts.DomainID = "", ""
	}
	switch {
	case loc.Unscoped:
	case loc.TrustID != "":
		opts.Scope = &gophercloud.AuthScope{TrustID: loc.TrustID}
	case loc.ProjectID != "":
		opts.Scope = &gophercloud.AuthScope{ProjectID: loc.ProjectID}
	case loc.ProjectName != "":
		opts.Scope = &gophercloud.AuthScope{ProjectName: loc.ProjectName,
			DomainName: loc.ProjectDomainName, DomainID: loc.ProjectDomainID}
	case loc.DomainID != "":
		opts.Scope = &gophercloud.AuthScope{DomainID: loc.DomainID}
	case loc.DomainName != "":
		opts.Scope = &gophercloud.AuthScope{DomainName: loc.DomainName}
	}
	return opts
}

func (loc *Location) user() string {
	if loc.Username != "" {
		return loc.Username
	}
	return "user id " + loc.UserID
}

func (loc *Location) where() string {
	var parts []string
	if loc.Region != "" {
		parts = append(parts, "region "+loc.Region)
	}
	parts = append(parts, "interface "+loc.Interface)
	return "(" + strings.Join(parts, ", ") + ")"
}

// Cloud is an authenticated connection to one deployment location.
type Cloud struct {
	timeout       time.Duration
	orchestration *gophercloud.ServiceClient
	provider      *gophercloud.ProviderClient
	endpoints     gophercloud.EndpointOpts

	mu      sync.Mutex
	network *gophercloud.ServiceClient
}

// Orchestration is the Heat client, for packages that need more of Heat's
// API than this one offers.
func (c *Cloud) Orchestration() *gophercloud.ServiceClient {
	return c.orchestration
}

// ErrNoNetworkService is a location whose Neutron cannot be used.
var ErrNoNetworkService = errors.New("this deployment location has no " +
	"Neutron: finding networks needs Keystone and a network endpoint in " +
	"its catalog")

// Network is the Neutron client: ErrNoNetworkService when the location
// has none, an UnreachableError when it does not answer.
func (c *Cloud) Network() (*gophercloud.ServiceClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.network != nil {
		return c.network, nil
	}
	if c.provider == nil {
		return nil, ErrNoNetworkService
	}
	network, err := openstack.NewNetworkV2(c.provider, c.endpoints)
	var missing gophercloud.ErrEndpointNotFound
	switch {
	case errors.As(err, &missing):
		return nil, ErrNoNetworkService
	case err != nil:
		return nil, wrap("Neutron", "find the network endpoint", err)
	}
	c.network = network
	return network, nil
}

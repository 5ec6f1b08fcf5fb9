package heat

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Check is one step of a ping: what was tried and how it went.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Ping tries a deployment location step by step, with a client of its
// own (not the shared one, so that the credentials are really tried): log
// in, find Heat, list one stack, and, with Keystone, find Neutron and
// list one network. It says what worked; it never fails itself. Details
// hold OpenStack's words, which never quote a password.
func (c *Clients) Ping(ctx context.Context, loc *Location) (bool, []Check) {
	var checks []Check
	add := func(name string, err error, ok string) bool {
		ch := Check{Name: name, OK: err == nil, Detail: ok}
		if err != nil {
			ch.Detail = err.Error()
		}
		checks = append(checks, ch)
		return err == nil
	}

	start := time.Now()
	cloud, err := c.connect(ctx, loc)
	if loc.AuthEnabled {
		if !add("keystone", err, fmt.Sprintf("logged in as %s in %s",
			loc.user(), time.Since(start).Round(time.Millisecond))) {
			return false, checks
		}
	} else if err != nil {
		add("heat", err, "")
		return false, checks
	}
	add("heat endpoint", nil, cloud.orchestration.Endpoint)

	listed, err := cloud.pingStacks(ctx)
	heatOK := add("heat", err, fmt.Sprintf("listed stacks (%d seen)", listed))

	if loc.AuthEnabled {
		network, err := cloud.Network()
		detail := ""
		if err == nil {
			detail = network.ResourceBaseURL()
		}
		if add("neutron endpoint", err, detail) {
			var out struct {
				Networks []struct{} `json:"networks"`
			}
			nctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
			_, err = network.Get(nctx, network.ServiceURL("networks")+
				"?limit=1", &out, nil)
			cancel()
			add("neutron", wrap("Neutron", "list networks", err),
				"listed networks")
		}
	}
	return heatOK, checks
}

func (c *Cloud) pingStacks(ctx context.Context) (int, error) {
	var out struct {
		Stacks []struct{} `json:"stacks"`
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	q := url.Values{"limit": {"1"}}
	_, err := c.orchestration.Get(ctx,
		c.orchestration.ServiceURL("stacks")+"?"+q.Encode(), &out, nil)
	if err != nil {
		return 0, wrap("Heat", "list stacks", err)
	}
	return len(out.Stacks), nil
}

// Package simcloud is a simulated OpenStack cloud for load tests: a
// Keystone v3 that hands out tokens with a catalog, and a Heat whose
// stacks go from CREATE_IN_PROGRESS to CREATE_COMPLETE (and from
// DELETE_IN_PROGRESS to DELETE_COMPLETE) after simulated durations,
// answering with the shapes real Heat uses. It does no real work, so that
// one machine can hold tens of thousands of stacks, and it counts every
// call by kind, overall and per stack, and knows when each stack became
// complete: that is what a driver's calls and detection delays are
// measured against.
//
// Keystone lives at /v3, Heat at /heat/v1/{project}; the catalog of every
// token points at that Heat. It listens on 127.0.0.1 only.
package simcloud

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/calls"
)

// Dist is a uniform distribution of durations between Min and Max.
type Dist struct{ Min, Max time.Duration }

// Uniform is the distribution between a and b.
func Uniform(a, b time.Duration) Dist { return Dist{Min: a, Max: b} }

// Fixed is the distribution of always d.
func Fixed(d time.Duration) Dist { return Dist{Min: d, Max: d} }

func (d Dist) draw() time.Duration {
	if d.Max <= d.Min {
		return d.Min
	}
	return d.Min + mrand.N(d.Max-d.Min)
}

func (d Dist) String() string {
	if d.Max <= d.Min {
		return d.Min.String()
	}
	return fmt.Sprintf("%s-%s", d.Min, d.Max)
}

// Config tunes the simulated cloud. The zero value works: stacks complete
// at once, calls answer at once, tokens last an hour.
type Config struct {
	// ProjectID and ProjectName are the one project; every token is
	// scoped to it. Defaults: a fixed id, "admin".
	ProjectID, ProjectName string
	// Username and Password, when Password is set, are the only
	// credentials Keystone accepts; otherwise any password works.
	Username, Password string
	// CreateTime is how long a stack stays CREATE_IN_PROGRESS.
	CreateTime Dist
	// DeleteTime is how long a stack stays DELETE_IN_PROGRESS.
	DeleteTime Dist
	// HeatLatency is added to every Heat call before it answers.
	HeatLatency time.Duration
	// TokenLatency is added to every token request (a login).
	TokenLatency time.Duration
	// TokenTTL is a token's life; Heat answers 401 after it (default 1h).
	TokenTTL time.Duration
	// NoAuth makes Heat accept calls without a token.
	NoAuth bool
	// ResourcesPerStack is how many resources a stack lists (default 3).
	ResourcesPerStack int
}

// Cloud is a running simulated cloud.
type Cloud struct {
	cfg   Config
	calls calls.Counter
	// unauthorized counts Heat calls answered 401.
	unauthorized calls.Counter

	mu     sync.Mutex
	stacks map[string]*stack // by id
	live   map[string]*stack // by name, not deleted
	order  []*stack
	tokens map[string]time.Time

	ln   net.Listener
	srv  *http.Server
	base string
}

// stack is one simulated stack.
type stack struct {
	id, name    string
	tags        []string
	params      map[string]string
	outputKeys  []string
	timeoutMins int
	disableRb   bool
	created     time.Time
	completeAt  time.Time
	// deleteAt is when DELETE was accepted; zero while not asked.
	deleteAt   time.Time
	deleteDone time.Time
	calls      map[calls.Kind]int
	// seq is the stack's place in creation order.
	seq int
}

// Start runs a cloud on 127.0.0.1:port (0: any free port).
func Start(cfg Config, port int) (*Cloud, error) {
	if cfg.ProjectID == "" {
		cfg.ProjectID = "5f3c0a1b2d4e4f60a7b8c9d0e1f2a3b4"
	}
	if cfg.ProjectName == "" {
		cfg.ProjectName = "admin"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.ResourcesPerStack <= 0 {
		cfg.ResourcesPerStack = 3
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("simcloud: %w", err)
	}
	c := &Cloud{cfg: cfg, stacks: map[string]*stack{},
		live: map[string]*stack{}, tokens: map[string]time.Time{}, ln: ln,
		base: "http://" + ln.Addr().String()}
	c.srv = &http.Server{Handler: c.routes(),
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// Close stops the server.
func (c *Cloud) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.srv.Shutdown(ctx); err != nil {
		_ = c.srv.Close()
	}
}

// URL is the cloud's base address, Keystone's os_api_url.
func (c *Cloud) URL() string { return c.base }

// HeatURL is Heat's endpoint with the project, as the catalog gives it.
func (c *Cloud) HeatURL() string {
	return c.base + "/heat/v1/" + c.cfg.ProjectID
}

// Config is the cloud's configuration after defaults.
func (c *Cloud) Config() Config { return c.cfg }

// Calls are the calls so far, by kind.
func (c *Cloud) Calls() calls.Counts { return c.calls.Snapshot() }

// Unauthorized are the Heat calls answered 401 (an expired or unknown
// token), by kind; they are also in Calls.
func (c *Cloud) Unauthorized() calls.Counts {
	return c.unauthorized.Snapshot()
}

// StackInfo is what the cloud knows of one stack.
type StackInfo struct {
	ID, Name string
	Created  time.Time
	// CompleteAt is when the stack became (or becomes) CREATE_COMPLETE.
	CompleteAt time.Time
	// DeleteAt is when Heat was asked to delete it (zero: never), and
	// DeleteDone when it became DELETE_COMPLETE.
	DeleteAt, DeleteDone time.Time
	// Calls are the calls that named this stack, by kind (its create
	// included).
	Calls calls.Counts
}

// Stack gives what the cloud knows of the stack with this id.
func (c *Cloud) Stack(id string) (StackInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stacks[id]
	if s == nil {
		return StackInfo{}, false
	}
	return s.info(), true
}

// Stacks lists every stack ever created, in creation order.
func (c *Cloud) Stacks() []StackInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]StackInfo, len(c.order))
	for i, s := range c.order {
		out[i] = s.info()
	}
	return out
}

func (s *stack) info() StackInfo {
	cs := calls.Counts{}
	for k, v := range s.calls {
		cs[k] = int64(v)
	}
	return StackInfo{ID: s.id, Name: s.name, Created: s.created,
		CompleteAt: s.completeAt, DeleteAt: s.deleteAt,
		DeleteDone: s.deleteDone, Calls: cs}
}

// status is the stack's state at now, with its reason.
func (s *stack) status(now time.Time) (string, string) {
	switch {
	case !s.deleteAt.IsZero() && now.Before(s.deleteDone):
		return "DELETE_IN_PROGRESS", "Stack DELETE started"
	case !s.deleteAt.IsZero():
		return "DELETE_COMPLETE", "Stack DELETE completed successfully"
	case now.Before(s.completeAt):
		return "CREATE_IN_PROGRESS", "Stack CREATE started"
	}
	return "CREATE_COMPLETE", "Stack CREATE completed successfully"
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" +
		h[20:]
}

// errNoToken is a Heat call without a valid token.
var errNoToken = errors.New("no valid token")

// checkToken finds whether a Heat call carries a live token.
func (c *Cloud) checkToken(r *http.Request) error {
	if c.cfg.NoAuth {
		return nil
	}
	tok := r.Header.Get("X-Auth-Token")
	c.mu.Lock()
	exp, ok := c.tokens[tok]
	c.mu.Unlock()
	if !ok || time.Now().After(exp) {
		return errNoToken
	}
	return nil
}

// Package calls names the kinds of OpenStack API calls the load harness
// counts, and counts them. The simulated cloud (simcloud) and the counting
// proxy in front of a real Heat and Keystone (countproxy) classify requests
// the same way, so their figures can be put side by side.
package calls

import (
	"maps"
	"slices"
	"strings"
	"sync"
)

// Kind is one kind of API call.
type Kind string

// The kinds counted. A GET of /stacks/{name or id} is a lookup: Heat
// answers it with a redirect (302) to /stacks/{name}/{id}, which the
// client follows with a second call, a get.
const (
	TokenCreate   Kind = "keystone.token"    // POST /v3/auth/tokens: a login
	TokenValidate Kind = "keystone.validate" // GET/HEAD /v3/auth/tokens
	KeystoneOther Kind = "keystone.other"

	StackCreate Kind = "heat.create"    // POST /stacks
	StackLookup Kind = "heat.lookup"    // GET /stacks/{name|id}[/...]: 302
	StackGet    Kind = "heat.get"       // GET /stacks/{name}/{id}
	StackList   Kind = "heat.list"      // GET /stacks?...
	StackDelete Kind = "heat.delete"    // DELETE /stacks/{name}/{id}
	Resources   Kind = "heat.resources" // GET /stacks/{name}/{id}/resources
	HeatOther   Kind = "heat.other"
)

// HeatKinds and KeystoneKinds list the kinds in the order reports show.
var (
	HeatKinds = []Kind{StackCreate, StackLookup, StackGet, StackList,
		StackDelete, Resources, HeatOther}
	KeystoneKinds = []Kind{TokenCreate, TokenValidate, KeystoneOther}
)

// Short is the kind without its service prefix.
func (k Kind) Short() string {
	_, s, _ := strings.Cut(string(k), ".")
	return s
}

// ClassifyKeystone gives the kind of a request to Keystone.
func ClassifyKeystone(method, path string) Kind {
	if strings.HasSuffix(strings.TrimRight(path, "/"), "/auth/tokens") {
		switch method {
		case "POST":
			return TokenCreate
		case "GET", "HEAD":
			return TokenValidate
		}
	}
	return KeystoneOther
}

// ClassifyHeat gives the kind of a request to Heat's API, whose paths
// look like [/prefix]/v1/{project}/stacks[/...].
func ClassifyHeat(method, path string) Kind {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	at := slices.Index(segs, "stacks")
	if at < 0 {
		return HeatOther
	}
	rest := segs[at+1:]
	switch {
	case len(rest) == 0 && method == "POST":
		return StackCreate
	case len(rest) == 0 && method == "GET":
		return StackList
	case len(rest) == 1 && method == "GET":
		return StackLookup
	case len(rest) == 2 && method == "GET" && rest[1] == "resources":
		return StackLookup
	case len(rest) == 2 && method == "GET":
		return StackGet
	case len(rest) == 2 && method == "DELETE":
		return StackDelete
	case len(rest) == 3 && method == "GET" && rest[2] == "resources":
		return Resources
	}
	return HeatOther
}

// Counter counts calls by kind; it is safe for concurrent use.
type Counter struct {
	mu sync.Mutex
	n  map[Kind]int64
}

// Add counts one call of kind k.
func (c *Counter) Add(k Kind) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[Kind]int64{}
	}
	c.n[k]++
	c.mu.Unlock()
}

// Snapshot copies the counts.
func (c *Counter) Snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// Counts are calls by kind.
type Counts map[Kind]int64

// Sub gives c minus an earlier snapshot.
func (c Counts) Sub(earlier Counts) Counts {
	out := Counts{}
	for k, v := range c {
		if d := v - earlier[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// Heat is the sum of the Heat kinds.
func (c Counts) Heat() int64 { return c.sum(HeatKinds) }

// Keystone is the sum of the Keystone kinds.
func (c Counts) Keystone() int64 { return c.sum(KeystoneKinds) }

func (c Counts) sum(kinds []Kind) int64 {
	var n int64
	for _, k := range kinds {
		n += c[k]
	}
	return n
}

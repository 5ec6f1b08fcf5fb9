// Package countproxy is a reverse proxy on 127.0.0.1 that counts the calls
// passing through it by kind and by client, so that the calls a driver
// makes to a real Heat or Keystone can be counted without changing
// either. It keeps the client's Host header, so that the addresses Heat
// puts in its redirects and links point back at the proxy.
package countproxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/calls"
)

// Proxy is a running counting proxy.
type Proxy struct {
	classify func(method, path string) calls.Kind
	// byClient counts by client ("driver": gophercloud's User-Agent;
	// "other": everything else, e.g. Heat checking tokens).
	mu       sync.Mutex
	byClient map[string]*calls.Counter
	// took holds how long each call took, by client and kind.
	took map[string]map[calls.Kind][]time.Duration

	ln  net.Listener
	srv *http.Server
}

// Start proxies 127.0.0.1:port (0: any) to target, classifying calls
// with classify (calls.ClassifyHeat or calls.ClassifyKeystone).
func Start(target string, port int,
	classify func(method, path string) calls.Kind) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("countproxy: %w", err)
	}
	p := &Proxy{classify: classify, byClient: map[string]*calls.Counter{},
		took: map[string]map[calls.Kind][]time.Duration{}, ln: ln}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
		},
		FlushInterval: -1,
	}
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter,
			r *http.Request) {
			client, kind := clientOf(r), p.classify(r.Method, r.URL.Path)
			p.counter(client).Add(kind)
			start := time.Now()
			rp.ServeHTTP(w, r)
			p.record(client, kind, time.Since(start))
		})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// clientOf tells the driver's calls from everyone else's.
func clientOf(r *http.Request) string {
	if strings.Contains(strings.ToLower(r.UserAgent()), "gophercloud") {
		return "driver"
	}
	return "other"
}

func (p *Proxy) counter(client string) *calls.Counter {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.byClient[client]
	if c == nil {
		c = &calls.Counter{}
		p.byClient[client] = c
	}
	return c
}

// record keeps how long one call took (the first 100,000 of a kind).
func (p *Proxy) record(client string, kind calls.Kind, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.took[client]
	if m == nil {
		m = map[calls.Kind][]time.Duration{}
		p.took[client] = m
	}
	if len(m[kind]) < 100000 {
		m[kind] = append(m[kind], d)
	}
}

// Took gives how long the calls of one client and kind took, from the
// request reaching the proxy to the end of the answer, in call order.
func (p *Proxy) Took(client string, kind calls.Kind) []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.took[client][kind]...)
}

// Port is the port the proxy listens on.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Calls gives the calls of one client ("driver", "other"), by kind.
func (p *Proxy) Calls(client string) calls.Counts {
	return p.counter(client).Snapshot()
}

// All gives every client's calls together, by kind.
func (p *Proxy) All() calls.Counts {
	out := calls.Counts{}
	for _, c := range []string{"driver", "other"} {
		for k, v := range p.Calls(c) {
			out[k] += v
		}
	}
	return out
}

// Close stops the proxy.
func (p *Proxy) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		_ = p.srv.Close()
	}
}

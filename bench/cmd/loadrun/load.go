package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sent is one execute request and its answer.
type sent struct {
	Start, End time.Time
	Status     int
	RequestID  string
	StackID    string
	Error      string
}

func (s sent) latency() time.Duration { return s.End.Sub(s.Start) }

func newHTTPClient(inflight int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = inflight + 16
	t.MaxIdleConnsPerHost = inflight + 16
	t.DisableCompression = true
	return &http.Client{Transport: t, Timeout: 3 * time.Minute}
}

// fire sends n execute requests to url at rate per second (0: as fast as
// inflight allows), never more than inflight at once; values(i) gives
// the spliced values of request i; ok, when not nil, counts the
// requests accepted so far. It returns when every request is
// answered or ctx ends.
func fire(ctx context.Context, client *http.Client, url string, b *body,
	n int, rate float64, inflight int,
	values func(i int) []string, ok *atomic.Int64) []sent {
	out := make([]sent, n)
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range n {
		if rate > 0 {
			due := t0.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			for k := i; k < n; k++ {
				out[k].Error = "not sent: " + ctx.Err().Error()
			}
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = execute(ctx, client, url, b, values(i))
			if ok != nil && out[i].Status == http.StatusAccepted {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return out
}

func execute(ctx context.Context, client *http.Client, url string,
	b *body, values []string) sent {
	r, n := b.reader(values...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		url+"/api/driver/lifecycle/execute", r)
	if err != nil {
		return sent{Error: err.Error()}
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tracectx-TransactionId", values[0])
	s := sent{Start: time.Now()}
	resp, err := client.Do(req)
	if err != nil {
		s.End = time.Now()
		s.Error = err.Error()
		return s
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.End = time.Now()
	s.Status = resp.StatusCode
	if err != nil {
		s.Error = err.Error()
		return s
	}
	var ans struct {
		RequestID          string `json:"requestId"`
		LocalizedMessage   string `json:"localizedMessage"`
		AssociatedTopology map[string]struct {
			ID string `json:"id"`
		} `json:"associatedTopology"`
	}
	_ = json.Unmarshal(data, &ans)
	s.RequestID = ans.RequestID
	s.StackID = ans.AssociatedTopology["InfrastructureStack"].ID
	if resp.StatusCode != http.StatusAccepted {
		s.Error = fmt.Sprintf("HTTP %d: %s", resp.StatusCode,
			firstLine(ans.LocalizedMessage+string(data)))
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// accepted gives the requests answered 202.
func accepted(ss []sent) []sent {
	var out []sent
	for _, s := range ss {
		if s.Status == http.StatusAccepted && s.RequestID != "" {
			out = append(out, s)
		}
	}
	return out
}

// errorsOf summarises the failed requests: their count by message.
func errorsOf(ss []sent) string {
	by := map[string]int{}
	for _, s := range ss {
		if s.Error != "" {
			by[s.Error]++
		}
	}
	if len(by) == 0 {
		return ""
	}
	var parts []string
	for msg, n := range by {
		parts = append(parts, fmt.Sprintf("%d x %s", n, msg))
	}
	sort.Strings(parts)
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("and %d other errors",
			len(parts)-5))
	}
	return strings.Join(parts, "; ")
}

// acceptRate is accepted requests per second, from the first request's
// start to the last answer.
func acceptRate(ss []sent) float64 {
	ok := accepted(ss)
	if len(ok) == 0 {
		return 0
	}
	first, last := ok[0].Start, ok[0].End
	for _, s := range ok {
		if s.Start.Before(first) {
			first = s.Start
		}
		if s.End.After(last) {
			last = s.End
		}
	}
	return float64(len(ok)) / last.Sub(first).Seconds()
}

// durations gives sorted durations, for percentiles.
type durations []time.Duration

func (d durations) sorted() durations {
	out := append(durations(nil), d...)
	sort.Slice(out, func(i, k int) bool { return out[i] < out[k] })
	return out
}

// pct is the p-th percentile (0-100) of sorted durations.
func (d durations) pct(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p/100*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func (d durations) mean() time.Duration {
	if len(d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

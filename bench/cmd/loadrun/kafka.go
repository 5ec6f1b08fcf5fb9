package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	eventsTopic   = "lm_vnfc_lifecycle_execution_events"
	jobsTopic     = "openstack_driver_jobs"
	progressTopic = "openstack_driver_progress"
)

// broker is a kfake cluster in this process that counts what the driver
// writes: records by topic (read from the produce requests themselves),
// produce requests and offset commits. It also follows the events topic
// as Brent would.
type broker struct {
	cluster *kfake.Cluster
	addrs   []string

	produceRequests atomic.Int64
	offsetCommits   atomic.Int64
	mu              sync.Mutex
	records         map[string]int64
	names           map[string]string // topic id key -> name
	byKey           map[int16]int64   // every request, by API key

	consumer *kgo.Client
	events   *eventLog
	stop     context.CancelFunc
	done     chan struct{}
}

func startBroker() (*broker, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	if err != nil {
		return nil, fmt.Errorf("kfake: %w", err)
	}
	b := &broker{cluster: c, addrs: c.ListenAddrs(),
		records: map[string]int64{}, names: map[string]string{},
		byKey:  map[int16]int64{},
		events: newEventLog(),
		done:   make(chan struct{})}
	// Observers only: they return "not handled", so kfake answers the
	// request itself and keeps the observer for the next one.
	c.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response,
		error, bool) {
		b.produceRequests.Add(1)
		if req, ok := r.(*kmsg.ProduceRequest); ok {
			b.mu.Lock()
			for _, t := range req.Topics {
				// Produce v13+ names topics by id only.
				key := t.Topic
				if key == "" {
					key = idKey(t.TopicID)
				}
				for _, p := range t.Partitions {
					b.records[key] += countRecords(p.Records)
				}
			}
			b.mu.Unlock()
		}
		return nil, nil, false
	})
	c.Control(func(r kmsg.Request) (kmsg.Response, error, bool) {
		b.mu.Lock()
		b.byKey[r.Key()]++
		b.mu.Unlock()
		return nil, nil, false
	})
	c.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (
		kmsg.Response, error, bool) {
		b.offsetCommits.Add(1)
		return nil, nil, false
	})
	return b, nil
}

// countRecords counts the records in the record batches of one
// partition of a produce request (Kafka's v2 batch format: the record
// count is at byte 57 of each batch, whose length is at byte 8).
func countRecords(raw []byte) int64 {
	var n int64
	for len(raw) >= 61 {
		size := 12 + int(binary.BigEndian.Uint32(raw[8:12]))
		n += int64(int32(binary.BigEndian.Uint32(raw[57:61])))
		if size > len(raw) || size <= 12 {
			break
		}
		raw = raw[size:]
	}
	return n
}

// follow starts reading the events topic from its start.
func (b *broker) follow() error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...),
		kgo.ConsumeTopics(eventsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMinAge(250*time.Millisecond),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return err
	}
	b.consumer = cl
	ctx, cancel := context.WithCancel(context.Background())
	b.stop = cancel
	go func() {
		defer close(b.done)
		for ctx.Err() == nil {
			fetches := cl.PollFetches(ctx)
			fetches.EachRecord(b.events.add)
		}
	}()
	return nil
}

// kafkaCounts is what the driver wrote to Kafka.
type kafkaCounts struct {
	Records map[string]int64
	// Requests are all requests to the broker by API name, the
	// harness's own (fetches of the events topic, metadata) included.
	Requests        map[string]int64
	ProduceRequests int64
	OffsetCommits   int64
}

func (b *broker) counts() kafkaCounts {
	b.mu.Lock()
	records := maps.Clone(b.records)
	reqs := map[string]int64{}
	for k, n := range b.byKey {
		reqs[kmsg.NameForKey(k)] += n
	}
	b.mu.Unlock()
	out := kafkaCounts{Records: map[string]int64{}, Requests: reqs,
		ProduceRequests: b.produceRequests.Load(),
		OffsetCommits:   b.offsetCommits.Load()}
	for key, n := range records {
		out.Records[b.topicName(key)] += n
	}
	return out
}

func idKey(id [16]byte) string { return "id:" + hex.EncodeToString(id[:]) }

// topicName turns a topic id key into the topic's name.
func (b *broker) topicName(key string) string {
	if !strings.HasPrefix(key, "id:") {
		return key
	}
	b.mu.Lock()
	name, ok := b.names[key]
	b.mu.Unlock()
	if ok || b.consumer == nil {
		if !ok {
			return key
		}
		return name
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(b.consumer).ListTopics(ctx)
	if err != nil {
		return key
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range topics {
		b.names[idKey(t.ID)] = t.Topic
	}
	if name, ok := b.names[key]; ok {
		return name
	}
	return key
}

func (k kafkaCounts) sub(e kafkaCounts) kafkaCounts {
	out := kafkaCounts{Records: map[string]int64{},
		Requests:        map[string]int64{},
		ProduceRequests: k.ProduceRequests - e.ProduceRequests,
		OffsetCommits:   k.OffsetCommits - e.OffsetCommits}
	for t, n := range k.Records {
		out.Records[t] = n - e.Records[t]
	}
	for t, n := range k.Requests {
		out.Requests[t] = n - e.Requests[t]
	}
	return out
}

func (b *broker) close() {
	if b.stop != nil {
		b.stop()
		b.consumer.Close()
		<-b.done
	}
	b.cluster.Close()
}

// event is what the harness keeps of one request's messages.
type event struct {
	// Final is the time of the COMPLETE or FAILED message (the record's
	// timestamp, set by the driver when it published it).
	Final      time.Time
	Status     string
	Failure    string
	InProgress int
	Messages   int
}

type eventLog struct {
	mu   sync.Mutex
	byID map[string]*event
	// finals counts requests with a final message.
	finals atomic.Int64
}

func newEventLog() *eventLog { return &eventLog{byID: map[string]*event{}} }

func (l *eventLog) add(r *kgo.Record) {
	var m struct {
		RequestID      string `json:"requestId"`
		Status         string `json:"status"`
		FailureDetails *struct {
			Code string `json:"failureCode"`
			Text string `json:"description"`
		} `json:"failureDetails"`
	}
	if json.Unmarshal(r.Value, &m) != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := l.byID[m.RequestID]
	if ev == nil {
		ev = &event{}
		l.byID[m.RequestID] = ev
	}
	ev.Messages++
	switch m.Status {
	case "IN_PROGRESS":
		ev.InProgress++
	case "COMPLETE", "FAILED":
		if ev.Status == "" {
			ev.Final, ev.Status = r.Timestamp, m.Status
			if m.FailureDetails != nil {
				ev.Failure = m.FailureDetails.Code + ": " +
					m.FailureDetails.Text
			}
			l.finals.Add(1)
		}
	}
}

func (l *eventLog) get(id string) (event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := l.byID[id]
	if ev == nil {
		return event{}, false
	}
	return *ev, true
}

// waitFinals waits until every id has its final message, or ctx ends;
// it gives how many are still missing.
func (l *eventLog) waitFinals(ctx context.Context, ids []string) int {
	for {
		missing := 0
		l.mu.Lock()
		for _, id := range ids {
			if ev := l.byID[id]; ev == nil || ev.Status == "" {
				missing++
			}
		}
		l.mu.Unlock()
		if missing == 0 || ctx.Err() != nil {
			return missing
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	multiTopic  = "jobs"   // three partitions
	singleTopic = "single" // one partition: record order is fixed
	group       = "openstack-driver"
)

// event is one call the queue made on a handler.
type event struct {
	kind    string // start, cancel, drop
	key     string
	payload string
}

// fakeHandler records what the queue asks of it; the jobs it holds are
// the ones started and not yet finished, cancelled or dropped.
type fakeHandler struct {
	mu     sync.Mutex
	events []event
	active map[string]*Delivery
}

func newHandler() *fakeHandler {
	return &fakeHandler{active: map[string]*Delivery{}}
}

func (h *fakeHandler) Start(d *Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, event{"start", d.Key, string(d.Payload)})
	h.active[d.Key] = d
}

func (h *fakeHandler) Cancel(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, event{kind: "cancel", key: key})
	delete(h.active, key)
}

func (h *fakeHandler) Drop(keys []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range keys {
		h.events = append(h.events, event{kind: "drop", key: k})
		delete(h.active, k)
	}
}

func (h *fakeHandler) Load() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.active)
}

// keys lists the keys of the events of one kind, in order.
func (h *fakeHandler) keys(kind string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ks []string
	for _, e := range h.events {
		if e.kind == kind {
			ks = append(ks, e.key)
		}
	}
	return ks
}

func (h *fakeHandler) started() []string   { return h.keys("start") }
func (h *fakeHandler) cancelled() []string { return h.keys("cancel") }
func (h *fakeHandler) dropped() []string   { return h.keys("drop") }

func (h *fakeHandler) allEvents() []event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// payloads maps each started key to the payload of its last start.
func (h *fakeHandler) payloads() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := map[string]string{}
	for _, e := range h.events {
		if e.kind == "start" {
			m[e.key] = e.payload
		}
	}
	return m
}

// finish ends an active job the way the driver does: Done, then forget.
func (h *fakeHandler) finish(q *Queue, key string) {
	GinkgoHelper()
	h.mu.Lock()
	d := h.active[key]
	h.mu.Unlock()
	Expect(d).NotTo(BeNil(), "job %s is not active", key)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	Expect(q.Done(ctx, d)).To(Succeed())
	h.mu.Lock()
	delete(h.active, key)
	h.mu.Unlock()
}

// syncBuffer is a log sink safe for the queue's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, _ = GinkgoWriter.Write(p)
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a queue whose Run goroutine was started by a test.
type running struct {
	q      *Queue
	h      *fakeHandler
	cancel context.CancelFunc
	done   chan error
	closed bool
}

// stopRun cancels Run and waits for it to return.
func (r *running) stopRun() {
	GinkgoHelper()
	r.cancel()
	Eventually(r.done, 10*time.Second).Should(Receive(BeNil()))
}

// stop cancels Run, waits for it, and closes the queue (commit, leave).
func (r *running) stop() {
	GinkgoHelper()
	if r.closed {
		return
	}
	r.closed = true
	r.stopRun()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.q.Close(ctx)
}

// owned is the number of partitions the queue currently holds.
func owned(q *Queue) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.parts)
}

func payloadOf(key string) string {
	return fmt.Sprintf(`{"requestId":%q,"password":"pw-%s"}`, key, key)
}

var _ = Describe("Queue on a Kafka topic", func() {
	var (
		cluster  *kfake.Cluster
		addrs    []string
		producer *kgo.Client
		admin    *kadm.Client
		sealer   *Sealer
		logs     *syncBuffer
		ctx      context.Context
	)

	BeforeEach(func() {
		var err error
		cluster, err = kfake.NewCluster(kfake.NumBrokers(1),
			kfake.SeedTopics(3, multiTopic), kfake.SeedTopics(1, singleTopic))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(cluster.Close)
		addrs = cluster.ListenAddrs()
		for _, a := range addrs {
			Expect(a).To(HavePrefix("127.0.0.1:"))
		}

		producer, err = kgo.NewClient(kgo.SeedBrokers(addrs...))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(producer.Close)
		admin = kadm.NewClient(producer)

		sealer = mustSealer(newKey())
		logs = &syncBuffer{}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 50*time.Second)
		DeferCleanup(cancel)
	})

	// newQueue makes a queue on topic with fast commits and heartbeats.
	newQueue := func(topic string, tweak ...func(*Options)) *Queue {
		opts := Options{Topic: topic, Group: group, Brokers: addrs,
			Extra: []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond),
				kgo.FetchMaxWait(200 * time.Millisecond)},
			CommitInterval: 100 * time.Millisecond}
		for _, t := range tweak {
			t(&opts)
		}
		return New(opts, producer, sealer,
			slog.New(slog.NewTextHandler(logs, nil)))
	}

	// start runs q with a new handler until the spec ends (or stop).
	start := func(q *Queue) *running {
		GinkgoHelper()
		rctx, cancel := context.WithCancel(context.Background())
		r := &running{q: q, h: newHandler(), cancel: cancel,
			done: make(chan error, 1)}
		go func() {
			defer GinkgoRecover()
			r.done <- q.Run(rctx, r.h)
		}()
		DeferCleanup(func() { r.stop() })
		return r
	}

	// startOwning starts q and waits until it owns n partitions.
	startOwning := func(q *Queue, n int) *running {
		GinkgoHelper()
		r := start(q)
		Eventually(func() int { return owned(q) }, 10*time.Second).
			Should(Equal(n))
		return r
	}

	enqueue := func(q *Queue, keys ...string) {
		GinkgoHelper()
		for _, k := range keys {
			Expect(q.Enqueue(ctx, k, []byte(payloadOf(k)))).To(Succeed())
		}
	}

	// committed is the group's committed offset of each partition of
	// topic (partitions with no commit are absent).
	committed := func(topic string) map[int32]int64 {
		GinkgoHelper()
		offs, err := admin.FetchOffsets(ctx, group)
		Expect(err).NotTo(HaveOccurred())
		m := map[int32]int64{}
		for p, o := range offs[topic] {
			if o.Err == nil && o.At >= 0 {
				m[p] = o.At
			}
		}
		return m
	}

	ends := func(topic string) map[int32]int64 {
		GinkgoHelper()
		listed, err := admin.ListEndOffsets(ctx, topic)
		Expect(err).NotTo(HaveOccurred())
		m := map[int32]int64{}
		listed.Each(func(o kadm.ListedOffset) {
			Expect(o.Err).NotTo(HaveOccurred())
			m[o.Partition] = o.Offset
		})
		return m
	}

	jobKeys := func(prefix string, n int) []string {
		ks := make([]string, n)
		for i := range ks {
			ks[i] = fmt.Sprintf("%s-%02d", prefix, i)
		}
		return ks
	}

	Describe("one replica", func() {
		It("starts each job once with its payload; after Done a new consumer "+
			"of the group gets none of them", func() {
			r1 := startOwning(newQueue(multiTopic), 3)
			keys := jobKeys("job", 9)
			enqueue(r1.q, keys...)

			Eventually(r1.h.started, 10*time.Second).
				Should(ConsistOf(keys))
			Consistently(r1.h.started, 500*time.Millisecond).
				Should(HaveLen(len(keys)))
			for k, p := range r1.h.payloads() {
				Expect(p).To(Equal(payloadOf(k)))
			}
			for _, k := range keys {
				r1.h.finish(r1.q, k)
			}
			Expect(r1.h.Load()).To(Equal(0))

			// The commit loop alone moves every partition past the jobs
			// and their tombstones.
			end := ends(multiTopic)
			var total int64
			for _, o := range end {
				total += o
			}
			Expect(total).To(Equal(int64(2 * len(keys))))
			Eventually(func() map[int32]int64 { return committed(multiTopic) },
				5*time.Second).Should(Equal(end))
			r1.stop()

			r2 := startOwning(newQueue(multiTopic), 3)
			// A job written now proves the new consumer reads the topic.
			enqueue(r2.q, "fresh")
			Eventually(r2.h.started, 10*time.Second).
				Should(Equal([]string{"fresh"}))
			Consistently(r2.h.started, 700*time.Millisecond).
				Should(Equal([]string{"fresh"}))
			Expect(r2.h.cancelled()).To(BeEmpty())
		})

		It("hands open jobs to the next consumer of the group (at least once)",
			func() {
				r1 := startOwning(newQueue(multiTopic), 3)
				keys := jobKeys("open", 6)
				enqueue(r1.q, keys...)
				Eventually(r1.h.started, 10*time.Second).Should(ConsistOf(keys))
				r1.stop()
				// Leaving the group gave the jobs up.
				Expect(r1.h.dropped()).To(ConsistOf(keys))
				Expect(r1.h.Load()).To(Equal(0))

				r2 := start(newQueue(multiTopic))
				Eventually(r2.h.started, 10*time.Second).Should(ConsistOf(keys))
				for k, p := range r2.h.payloads() {
					Expect(p).To(Equal(payloadOf(k)))
				}
				Consistently(r2.h.started, 500*time.Millisecond).
					Should(HaveLen(len(keys)))
			})

		It("after a restart starts job A again but not job B, done after it, "+
			"when B's tombstone ends the partition", func() {
			// single partition: A@0, B@1, tombstone(B)@2
			r1 := startOwning(newQueue(singleTopic), 1)
			enqueue(r1.q, "A", "B")
			Eventually(r1.h.started, 10*time.Second).
				Should(Equal([]string{"A", "B"}))
			r1.h.finish(r1.q, "B")
			Expect(ends(singleTopic)).To(Equal(map[int32]int64{0: 3}))
			// A is open, so the committed offset stays at A.
			Eventually(func() map[int32]int64 { return committed(singleTopic) },
				5*time.Second).Should(Equal(map[int32]int64{0: 0}))
			r1.stop()
			Expect(committed(singleTopic)).To(Equal(map[int32]int64{0: 0}))

			// CatchUpLimit stays at its default (30 s): A must start as
			// soon as the replay reaches the end the partition had.
			r2 := start(newQueue(singleTopic))
			Eventually(r2.h.started, 5*time.Second).
				Should(Equal([]string{"A"}),
					"A was not started again within 5 s of the restart")
			Expect(r2.h.payloads()["A"]).To(Equal(payloadOf("A")))
			Consistently(r2.h.started, 500*time.Millisecond).
				Should(Equal([]string{"A"}))
			Expect(r2.h.cancelled()).To(BeEmpty())
		})

		It("after a restart starts job A again but not job B, done after it, "+
			"when a later job ends the partition", func() {
			// single partition: A@0, B@1, tombstone(B)@2, C@3
			r1 := startOwning(newQueue(singleTopic), 1)
			enqueue(r1.q, "A", "B")
			Eventually(r1.h.started, 10*time.Second).
				Should(Equal([]string{"A", "B"}))
			r1.h.finish(r1.q, "B")
			enqueue(r1.q, "C")
			Eventually(r1.h.started, 10*time.Second).
				Should(Equal([]string{"A", "B", "C"}))
			r1.stop()
			Expect(committed(singleTopic)).To(Equal(map[int32]int64{0: 0}))

			r2 := start(newQueue(singleTopic))
			Eventually(r2.h.started, 10*time.Second).
				Should(ConsistOf("A", "C"))
			Consistently(r2.h.started, 500*time.Millisecond).
				Should(ConsistOf("A", "C"))
			Expect(r2.h.payloads()).To(Equal(map[string]string{
				"A": payloadOf("A"), "C": payloadOf("C")}))
			// B was held and its tombstone removed it: nothing to cancel.
			Expect(r2.h.cancelled()).To(BeEmpty())
		})

		It("never starts a job whose tombstone (Finish) it reads while "+
			"catching up", func() {
			q := newQueue(singleTopic)
			// Written while no consumer runs: X@0, tombstone(X)@1, Y@2.
			enqueue(q, "X")
			Expect(q.Finish(ctx, "X")).To(Succeed())
			enqueue(q, "Y")

			r := start(q)
			Eventually(r.h.started, 10*time.Second).
				Should(Equal([]string{"Y"}))
			Consistently(r.h.started, 700*time.Millisecond).
				Should(Equal([]string{"Y"}))
			Expect(r.h.cancelled()).To(BeEmpty())
		})

		It("cancels a started job whose tombstone (Finish) it then reads",
			func() {
				r := startOwning(newQueue(singleTopic), 1)
				enqueue(r.q, "X", "Y")
				Eventually(r.h.started, 10*time.Second).
					Should(Equal([]string{"X", "Y"}))

				// Another replica's queue writes the tombstone.
				other := newQueue(singleTopic)
				Expect(other.Finish(ctx, "X")).To(Succeed())
				Eventually(r.h.cancelled, 10*time.Second).
					Should(Equal([]string{"X"}))
				Expect(r.h.Load()).To(Equal(1))

				// X no longer holds back the committed offset; Y does.
				Eventually(func() map[int32]int64 {
					return committed(singleTopic)
				}, 5*time.Second).Should(Equal(map[int32]int64{0: 1}))
				r.h.finish(r.q, "Y")
				Eventually(func() map[int32]int64 {
					return committed(singleTopic)
				}, 5*time.Second).Should(Equal(map[int32]int64{0: 4}))
				Expect(r.h.started()).To(Equal([]string{"X", "Y"}))
			})

		It("does not tell the handler to cancel a job it has itself Done",
			func() {
				// The tombstone Done writes reaches the consumer before Done
				// has closed the job when the acknowledgement is slow to
				// come back; the handler must not see it as "finished
				// elsewhere".
				h := newHandler()
				slow := &slowAckProducer{Producer: producer, h: h,
					wait: 1500 * time.Millisecond}
				q := New(Options{Topic: singleTopic, Group: group,
					Brokers: addrs, CommitInterval: 100 * time.Millisecond,
					Extra: []kgo.Opt{
						kgo.HeartbeatInterval(100 * time.Millisecond),
						kgo.FetchMaxWait(200 * time.Millisecond)}},
					slow, sealer, slog.New(slog.NewTextHandler(logs, nil)))
				rctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() {
					defer GinkgoRecover()
					done <- q.Run(rctx, h)
				}()
				DeferCleanup(func() {
					cancel()
					Eventually(done, 10*time.Second).Should(Receive())
					q.Close(context.Background())
				})

				Eventually(func() int { return owned(q) }, 10*time.Second).
					Should(Equal(1))
				Expect(q.Enqueue(ctx, "A", []byte(payloadOf("A")))).
					To(Succeed())
				Eventually(h.started, 10*time.Second).
					Should(Equal([]string{"A"}))
				h.finish(q, "A")
				Expect(h.cancelled()).To(BeEmpty(),
					"Cancel was called for a job this replica finished")
			})

		It("starts the later record when a request is written twice", func() {
			r := startOwning(newQueue(singleTopic), 1)
			Expect(r.q.Enqueue(ctx, "K", []byte("first"))).To(Succeed())
			Eventually(r.h.started, 10*time.Second).
				Should(Equal([]string{"K"}))
			Expect(r.q.Enqueue(ctx, "K", []byte("second"))).To(Succeed())
			Eventually(r.h.allEvents, 10*time.Second).Should(Equal([]event{
				{kind: "start", key: "K", payload: "first"},
				{kind: "cancel", key: "K"},
				{kind: "start", key: "K", payload: "second"},
			}))
			r.h.finish(r.q, "K")
			Eventually(func() map[int32]int64 { return committed(singleTopic) },
				5*time.Second).Should(Equal(map[int32]int64{0: 3}))
		})

		It("starts only the later record of a request written twice, "+
			"without cancelling one it never started", func() {
			q := newQueue(singleTopic)
			Expect(q.Enqueue(ctx, "K", []byte("first"))).To(Succeed())
			Expect(q.Enqueue(ctx, "K", []byte("second"))).To(Succeed())
			enqueue(q, "L")
			r := start(q)
			Eventually(r.h.started, 10*time.Second).
				Should(Equal([]string{"K", "L"}))
			Expect(r.h.payloads()["K"]).To(Equal("second"))
			Consistently(r.h.started, 500*time.Millisecond).
				Should(HaveLen(2))
			Expect(r.h.cancelled()).To(BeEmpty(),
				"Cancel was called for a replayed job that was only held")
		})
	})

	Describe("two replicas in one group", func() {
		It("starts every job exactly once, and hands a leaving replica's "+
			"jobs to the other", func() {
			r1 := start(newQueue(multiTopic))
			r2 := start(newQueue(multiTopic))
			// Settled: the three partitions split between the two.
			Eventually(func() []int { return []int{owned(r1.q), owned(r2.q)} },
				15*time.Second).Should(Or(Equal([]int{1, 2}), Equal([]int{2, 1})))

			keys := jobKeys("job", 30)
			enqueue(r1.q, keys...)
			all := func() []string {
				return append(r1.h.started(), r2.h.started()...)
			}
			Eventually(all, 10*time.Second).Should(ConsistOf(keys))
			Consistently(all, 700*time.Millisecond).Should(HaveLen(len(keys)))
			first := r1.h.started()
			second := r2.h.started()
			Expect(first).NotTo(BeEmpty())
			Expect(second).NotTo(BeEmpty())

			r1.stop()
			Expect(r1.h.dropped()).To(ConsistOf(first))
			Eventually(func() int { return owned(r2.q) }, 15*time.Second).
				Should(Equal(3))
			Eventually(r2.h.started, 15*time.Second).Should(ConsistOf(keys))
			// The survivor kept its own jobs: none was started twice.
			Consistently(r2.h.started, 500*time.Millisecond).
				Should(HaveLen(len(keys)))
			Expect(r2.h.dropped()).To(BeEmpty())
			for k, p := range r2.h.payloads() {
				Expect(p).To(Equal(payloadOf(k)))
			}
		})
	})

	Describe("MaxJobs", func() {
		It("starts at most MaxJobs jobs until some are Done", func() {
			r := startOwning(newQueue(multiTopic, func(o *Options) {
				o.MaxJobs = 5
			}), 3)
			keys := jobKeys("job", 12)
			enqueue(r.q, keys...)

			Eventually(r.h.started, 10*time.Second).Should(HaveLen(5))
			Consistently(r.h.started, time.Second).Should(HaveLen(5))
			first := r.h.started()
			r.h.finish(r.q, first[0])
			r.h.finish(r.q, first[1])
			Eventually(r.h.started, 10*time.Second).Should(HaveLen(7))
			Consistently(r.h.started, time.Second).Should(HaveLen(7))
			Expect(r.h.Load()).To(Equal(5))

			for _, k := range r.h.started()[2:] {
				r.h.finish(r.q, k)
			}
			Eventually(r.h.started, 10*time.Second).Should(ConsistOf(keys))
		})

		It("starts work on a replayed backlog larger than MaxJobs without "+
			"waiting for CatchUpLimit", func() {
			q := newQueue(singleTopic, func(o *Options) {
				o.MaxJobs = 5
				o.CatchUpLimit = 20 * time.Second
			})
			enqueue(q, jobKeys("backlog", 10)...)
			r := start(q)
			Eventually(r.h.started, 5*time.Second).Should(HaveLen(5),
				"a backlog of 10 with MaxJobs 5 started nothing in 5 s")
		})
	})

	Describe("records that do not open", func() {
		var other *Sealer
		BeforeEach(func() { other = mustSealer(newKey()) })

		// produceRaw writes a record as it is, bypassing the queue.
		produceRaw := func(key string, value []byte) {
			GinkgoHelper()
			Expect(producer.ProduceSync(ctx, &kgo.Record{Topic: singleTopic,
				Key: []byte(key), Value: value}).FirstErr()).To(Succeed())
		}

		It("goes on past them, keeps one sealed with an unknown key open "+
			"(so another replica can take it) and drops one that is no "+
			"sealed record, logging neither's content", func() {
			r := startOwning(newQueue(singleTopic), 1)
			produceRaw("bad-key", other.Seal([]byte(`{"password":"hunter2"}`),
				[]byte("bad-key")))
			produceRaw("bad-plain", []byte(`{"password":"hunter3"}`))
			enqueue(r.q, "good")

			Eventually(r.h.started, 10*time.Second).
				Should(Equal([]string{"good"}))
			Consistently(r.h.started, 500*time.Millisecond).
				Should(Equal([]string{"good"}))
			r.h.finish(r.q, "good")
			// bad-key@0 stays open and holds the commit at 0; bad-plain@1
			// is dropped; good@2 and its tombstone@3 are done.
			Consistently(func() map[int32]int64 { return committed(singleTopic) },
				2*time.Second).ShouldNot(HaveKeyWithValue(int32(0),
				BeNumerically(">", 0)))
			Expect(r.q.Healthy()).To(MatchError(ContainSubstring(
				"cannot be opened with this replica's keys")))

			Expect(logs.String()).To(ContainSubstring("job record dropped"))
			Expect(logs.String()).To(ContainSubstring(
				"kept for a replica that has it"))
			Expect(logs.String()).To(ContainSubstring("requestId=bad-key"))
			Expect(logs.String()).To(ContainSubstring("requestId=bad-plain"))
			Expect(logs.String()).NotTo(ContainSubstring("hunter"))
			Expect(logs.String()).NotTo(ContainSubstring("pw-good"))
		})

		It("skips one met while catching up, before a good job", func() {
			produceRaw("bad", other.Seal([]byte("x"), []byte("bad")))
			q := newQueue(singleTopic)
			enqueue(q, "good")
			r := start(q)
			Eventually(r.h.started, 10*time.Second).
				Should(Equal([]string{"good"}))
			Consistently(r.h.started, 500*time.Millisecond).
				Should(Equal([]string{"good"}))
		})

		It("does not hold back a replayed job when it ends the partition",
			func() {
				q := newQueue(singleTopic)
				enqueue(q, "good")
				produceRaw("bad", other.Seal([]byte("x"), []byte("bad")))
				r := start(q) // CatchUpLimit: default 30 s
				Eventually(r.h.started, 5*time.Second).
					Should(Equal([]string{"good"}),
						"the replayed job waits behind a record that never opens")
			})
	})

	Describe("catch-up limit", func() {
		It("starts a held job after CatchUpLimit even if no record follows",
			func() {
				// A transaction's commit marker takes the last offset of the
				// partition and is never delivered: the replay cannot reach
				// the end it had when assigned.
				txp, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
					kgo.TransactionalID("enqueue-tx"))
				Expect(err).NotTo(HaveOccurred())
				defer txp.Close()
				Expect(txp.BeginTransaction()).To(Succeed())
				Expect(txp.ProduceSync(ctx, &kgo.Record{Topic: singleTopic,
					Key: []byte("A"), Value: sealer.Seal([]byte(payloadOf("A")),
						[]byte("A"))}).FirstErr()).To(Succeed())
				Expect(txp.EndTransaction(ctx, kgo.TryCommit)).To(Succeed())
				Expect(ends(singleTopic)).To(Equal(map[int32]int64{0: 2}))

				r := start(newQueue(singleTopic, func(o *Options) {
					o.CatchUpLimit = time.Second
				}))
				Eventually(r.h.started, 6*time.Second).
					Should(Equal([]string{"A"}),
						"the held job was not started 5 s after CatchUpLimit")
			})
	})

	Describe("commits", func() {
		It("commits again when the broker refused a partition's commit",
			func() {
				r := startOwning(newQueue(singleTopic), 1)
				enqueue(r.q, "A")
				Eventually(r.h.started, 10*time.Second).
					Should(Equal([]string{"A"}))
				Eventually(func() map[int32]int64 {
					return committed(singleTopic)
				}, 5*time.Second).Should(Equal(map[int32]int64{0: 0}))

				// The first commit past A and its tombstone (offset 2) is
				// refused for the partition, as during a rebalance.
				var refused sync.WaitGroup
				refused.Add(1)
				cluster.ControlKey(int16(kmsg.OffsetCommit),
					func(kr kmsg.Request) (kmsg.Response, error, bool) {
						req := kr.(*kmsg.OffsetCommitRequest)
						if len(req.Topics) == 0 ||
							len(req.Topics[0].Partitions) == 0 ||
							req.Topics[0].Partitions[0].Offset != 2 {
							return nil, nil, false
						}
						resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
						resp.Version = req.Version
						for _, t := range req.Topics {
							rt := kmsg.NewOffsetCommitResponseTopic()
							rt.Topic, rt.TopicID = t.Topic, t.TopicID
							for _, p := range t.Partitions {
								rp := kmsg.NewOffsetCommitResponseTopicPartition()
								rp.Partition = p.Partition
								rp.ErrorCode = kerr.RebalanceInProgress.Code
								rt.Partitions = append(rt.Partitions, rp)
							}
							resp.Topics = append(resp.Topics, rt)
						}
						refused.Done()
						return resp, nil, true
					})

				r.h.finish(r.q, "A")
				refusedCh := make(chan struct{})
				go func() { refused.Wait(); close(refusedCh) }()
				Eventually(refusedCh, 5*time.Second).Should(BeClosed())
				Eventually(func() map[int32]int64 {
					return committed(singleTopic)
				}, 3*time.Second).Should(Equal(map[int32]int64{0: 2}),
					"the refused commit was never retried")
			})
	})

	Describe("Run and Close", func() {
		It("Run returns once its context ends; Close leaves the group",
			func() {
				r := startOwning(newQueue(multiTopic), 3)
				describe := func() kadm.DescribedGroup {
					ds, err := admin.DescribeGroups(ctx, group)
					Expect(err).NotTo(HaveOccurred())
					Expect(ds).To(HaveKey(group))
					return ds[group]
				}
				Expect(describe().Members).To(HaveLen(1))
				Expect(describe().State).To(Equal("Stable"))

				r.stopRun()
				// Run returned but the member stays until Close.
				Expect(describe().Members).To(HaveLen(1))

				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				r.q.Close(cctx)
				r.closed = true
				Expect(describe().Members).To(BeEmpty())
				Expect(describe().State).To(Equal("Empty"))
			})

		It("Run returns at once when its context is already done", func() {
			q := newQueue(multiTopic)
			rctx, cancel := context.WithCancel(context.Background())
			cancel()
			done := make(chan error, 1)
			go func() { done <- q.Run(rctx, newHandler()) }()
			Eventually(done, 5*time.Second).Should(Receive(BeNil()))
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			defer ccancel()
			q.Close(cctx)
		})

		It("Close before Run does nothing", func() {
			q := newQueue(multiTopic)
			q.Close(ctx)
			Expect(q.consumer).To(BeNil())
		})
	})
})

// slowAckProducer holds back the acknowledgement of tombstones until the
// handler saw a Cancel for the key, or wait passed: a slow path back from
// the broker.
type slowAckProducer struct {
	Producer
	h    *fakeHandler
	wait time.Duration
}

func (p *slowAckProducer) ProduceSync(ctx context.Context,
	rs ...*kgo.Record) kgo.ProduceResults {
	res := p.Producer.ProduceSync(ctx, rs...)
	for _, r := range rs {
		if r.Value != nil {
			continue
		}
		deadline := time.Now().Add(p.wait)
		for time.Now().Before(deadline) &&
			!slices.Contains(p.h.cancelled(), string(r.Key)) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return res
}

// recordingProducer keeps what it is given and answers with err.
type recordingProducer struct {
	mu      sync.Mutex
	records []*kgo.Record
	err     error
}

func (p *recordingProducer) ProduceSync(_ context.Context,
	rs ...*kgo.Record) kgo.ProduceResults {
	p.mu.Lock()
	defer p.mu.Unlock()
	var res kgo.ProduceResults
	for _, r := range rs {
		p.records = append(p.records, r)
		res = append(res, kgo.ProduceResult{Record: r, Err: p.err})
	}
	return res
}

var _ = Describe("Queue without Kafka", func() {
	log := slog.New(slog.NewTextHandler(GinkgoWriter, nil))

	It("fills in defaults", func() {
		q := New(Options{Topic: "t"}, &recordingProducer{},
			mustSealer(newKey()), log)
		Expect(q.opts.MaxJobs).To(Equal(20000))
		Expect(q.opts.CommitInterval).To(Equal(2 * time.Second))
		Expect(q.opts.CatchUpLimit).To(Equal(30 * time.Second))
		q = New(Options{MaxJobs: 7, CommitInterval: time.Second,
			CatchUpLimit: time.Minute}, &recordingProducer{},
			mustSealer(newKey()), log)
		Expect(q.opts.MaxJobs).To(Equal(7))
		Expect(q.opts.CommitInterval).To(Equal(time.Second))
		Expect(q.opts.CatchUpLimit).To(Equal(time.Minute))
	})

	It("writes a sealed record keyed by the request, and a null tombstone",
		func() {
			p := &recordingProducer{}
			s := mustSealer(newKey())
			q := New(Options{Topic: "jobs-t"}, p, s, log)
			Expect(q.Enqueue(context.Background(), "req-9",
				[]byte(`{"password":"pw-9"}`))).To(Succeed())
			Expect(q.Finish(context.Background(), "req-9")).To(Succeed())

			Expect(p.records).To(HaveLen(2))
			job, tomb := p.records[0], p.records[1]
			Expect(job.Topic).To(Equal("jobs-t"))
			Expect(string(job.Key)).To(Equal("req-9"))
			Expect(bytes.Contains(job.Value, []byte("pw-9"))).To(BeFalse())
			plain, err := s.Open(job.Value, []byte("req-9"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(plain)).To(Equal(`{"password":"pw-9"}`))

			Expect(tomb.Topic).To(Equal("jobs-t"))
			Expect(string(tomb.Key)).To(Equal("req-9"))
			Expect(tomb.Value).To(BeNil())
		})

	It("reports a record Kafka did not take as UnavailableError", func() {
		boom := errors.New("no broker")
		q := New(Options{Topic: "t"}, &recordingProducer{err: boom},
			mustSealer(newKey()), log)
		for _, err := range []error{
			q.Enqueue(context.Background(), "k", []byte("x")),
			q.Finish(context.Background(), "k"),
		} {
			var ue *UnavailableError
			Expect(errors.As(err, &ue)).To(BeTrue())
			Expect(errors.Is(err, boom)).To(BeTrue())
			Expect(err.Error()).To(Equal(
				"Kafka did not take the job record: no broker"))
		}
	})

	It("keeps a job open when its tombstone was not written", func() {
		q := New(Options{Topic: "t"}, &recordingProducer{
			err: errors.New("no broker")}, mustSealer(newKey()), log)
		p := &partition{id: 0, open: map[int64]*Delivery{},
			byKey: map[string]*Delivery{}}
		d := &Delivery{Key: "k", part: p, offset: 4}
		p.open[4], p.byKey["k"] = d, d
		q.parts[0] = p

		Expect(q.Done(context.Background(), d)).NotTo(Succeed())
		Expect(p.open).To(HaveKeyWithValue(int64(4), d))
		Expect(p.byKey).To(HaveKeyWithValue("k", d))
	})
})

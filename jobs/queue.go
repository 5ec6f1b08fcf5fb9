// Package jobs is the driver's durable job queue, kept on a Kafka topic and
// shared by the replicas through a consumer group. Each accepted request
// is one sealed record, written (and acknowledged by every in-sync
// replica) before Heat is asked to do anything; the replica that owns the
// record's partition follows the request to its end; a tombstone with the
// same key then marks the request done, and the group's committed offset
// moves past it. A replica that dies leaves its partitions, with their
// unfinished records, to the survivors.
//
// Waiting costs no writes: a record is written once, and only the offset
// commits (a few per partition while work finishes) and the tombstone
// follow. The cost is that a long request holds back the committed offset
// of its partition, so a restart replays the records behind it; those
// whose tombstone is also replayed are skipped, and the others are simply
// followed again.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Delivery is one job record handed to the handler.
type Delivery struct {
	// Key is the record key, the request id.
	Key string
	// Payload is the job, opened.
	Payload []byte

	part   *partition
	offset int64
	// finishing is set while this replica writes the job's tombstone.
	finishing bool
	// sealed marks a record this replica could not open.
	sealed bool
}

// Handler works on the jobs of the partitions this replica owns.
type Handler interface {
	// Start begins work on a job; the handler calls Queue.Done when the
	// job's end is published.
	Start(d *Delivery)
	// Cancel drops a job finished elsewhere (its tombstone was read).
	Cancel(key string)
	// Drop forgets jobs whose partition this replica no longer owns.
	Drop(keys []string)
	// Load is the number of jobs the handler holds.
	Load() int
}

// Options configure a Queue.
type Options struct {
	Topic string
	Group string
	// Brokers and Extra configure the consumer's own connection.
	Brokers []string
	Extra   []kgo.Opt
	// MaxJobs bounds the jobs held in memory; consumption pauses beyond.
	MaxJobs int
	// CommitInterval is how often finished work is committed.
	CommitInterval time.Duration
	// CatchUpLimit is how long a replayed job waits for its tombstone
	// before it is worked on anyway.
	CatchUpLimit time.Duration
}

// Producer writes records with acknowledgement from every in-sync replica.
type Producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

// Queue is the job queue.
type Queue struct {
	opts     Options
	producer Producer
	sealer   *Sealer
	log      *slog.Logger

	consumer *kgo.Client
	handler  Handler

	mu    sync.Mutex
	parts map[int32]*partition

	// lastPoll is when the consume loop last went round (Unix nanos).
	lastPoll atomic.Int64
	// unopened counts records of owned partitions that could not be
	// opened with this replica's keys.
	unopened atomic.Int64
}

// partition is this replica's view of one owned partition.
type partition struct {
	id int32
	// open holds the jobs read but not done, by offset.
	open map[int64]*Delivery
	// byKey finds an open job by request id.
	byKey map[string]*Delivery
	// next is the offset after the last record read.
	next int64
	// committed is the offset last committed.
	committed int64
	// target is the partition's end when it was assigned: records before
	// it are replays, held until the partition is caught up.
	target   int64
	held     []*Delivery
	assigned time.Time
	gone     bool
}

// New makes a Queue; Run starts consuming.
func New(opts Options, producer Producer, sealer *Sealer,
	log *slog.Logger) *Queue {
	if opts.MaxJobs <= 0 {
		opts.MaxJobs = 20000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.CommitInterval <= 0 {
		opts.CommitInterval = 2 * time.Second
	}
	if opts.CatchUpLimit <= 0 {
		opts.CatchUpLimit = 30 * time.Second
	}
	return &Queue{opts: opts, producer: producer, sealer: sealer, log: log,
		parts: map[int32]*partition{}}
}

// UnavailableError is a job that Kafka did not take.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("Kafka did not take the job record: %v", e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Enqueue writes a job and returns once every in-sync replica has it.
func (q *Queue) Enqueue(ctx context.Context, key string,
	payload []byte) error {
	rec := &kgo.Record{Topic: q.opts.Topic, Key: []byte(key),
		Value: q.sealer.Seal(payload, []byte(key))}
	if err := q.producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return &UnavailableError{Err: err}
	}
	return nil
}

// Finish writes the tombstone of a job that never reached a replica's
// handler (refused by Heat at once): its record must not be worked on.
func (q *Queue) Finish(ctx context.Context, key string) error {
	rec := &kgo.Record{Topic: q.opts.Topic, Key: []byte(key)}
	if err := q.producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return &UnavailableError{Err: err}
	}
	return nil
}

// Done marks a delivered job finished: its tombstone is written, and its
// offset may then be committed. Call it only after the job's final
// message is acknowledged.
func (q *Queue) Done(ctx context.Context, d *Delivery) error {
	// The tombstone may be read back before Finish returns; it must not
	// look like another replica's.
	q.mu.Lock()
	d.finishing = true
	q.mu.Unlock()
	if err := q.Finish(ctx, d.Key); err != nil {
		q.mu.Lock()
		d.finishing = false
		q.mu.Unlock()
		return err
	}
	q.mu.Lock()
	q.close(d)
	q.mu.Unlock()
	return nil
}

// close forgets an open job; q.mu is held.
func (q *Queue) close(d *Delivery) {
	p := d.part
	if p == nil || p.gone {
		return
	}
	delete(p.open, d.offset)
	if p.byKey[d.Key] == d {
		delete(p.byKey, d.Key)
	}
}

// Run consumes the job topic until ctx ends, then commits what is done
// and leaves the group so that another replica takes over at once.
func (q *Queue) Run(ctx context.Context, h Handler) error {
	q.handler = h
	opts := []kgo.Opt{
		kgo.SeedBrokers(q.opts.Brokers...),
		kgo.ConsumerGroup(q.opts.Group),
		kgo.ConsumeTopics(q.opts.Topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.OnPartitionsAssigned(q.assigned),
		kgo.OnPartitionsRevoked(q.revoked),
		kgo.OnPartitionsLost(q.lost),
		kgo.SessionTimeout(20 * time.Second),
		kgo.RebalanceTimeout(20 * time.Second),
	}
	opts = append(opts, q.opts.Extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("job queue consumer: %w", err)
	}
	q.consumer = cl

	commitCtx, stopCommits := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { q.commitLoop(commitCtx) })

	defer q.lastPoll.Store(0)
	for ctx.Err() == nil {
		q.lastPoll.Store(time.Now().UnixNano())
		room := q.opts.MaxJobs - h.Load() - q.heldCount()
		if room <= 0 && q.heldCount() > 0 && h.Load() < q.opts.MaxJobs {
			// The room is taken by replayed jobs waiting for the rest
			// of their partition, which cannot be read without room:
			// start them rather than wait for CatchUpLimit.
			q.releaseAll()
			continue
		}
		if room <= 0 {
			// Full: leave the records on Kafka until work finishes.
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			q.releaseStale()
			continue
		}
		// A bounded wait, so that held jobs are released on time even
		// when no record comes.
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := cl.PollRecords(pctx, room)
		cancel()
		fetches.EachError(func(topic string, part int32, err error) {
			if !errors.Is(err, context.Canceled) &&
				!errors.Is(err, context.DeadlineExceeded) {
				q.log.Warn("job queue fetch failed", "partition", part,
					"error", err.Error())
			}
		})
		fetches.EachRecord(q.read)
		q.releaseStale()
	}
	stopCommits()
	wg.Wait()
	return nil
}

// Healthy reports whether the consumer is running: its loop must have
// gone round within the last 30 s.
func (q *Queue) Healthy() error {
	if n := q.unopened.Load(); n > 0 {
		return fmt.Errorf("%d job records cannot be opened with this "+
			"replica's keys (DRIVER_JOB_KEY_FILE must hold every key "+
			"still in use); their requests wait", n)
	}
	last := q.lastPoll.Load()
	if last == 0 {
		return errors.New("the job queue consumer is not running")
	}
	if since := time.Since(time.Unix(0, last)); since > 30*time.Second {
		return fmt.Errorf("the job queue consumer has not polled for %s",
			since.Round(time.Second))
	}
	return nil
}

// Close commits finished work and leaves the group. Call it after the
// handler has stopped.
func (q *Queue) Close(ctx context.Context) {
	if q.consumer == nil {
		return
	}
	q.commit(ctx)
	if err := q.consumer.LeaveGroupContext(ctx); err != nil {
		q.log.Warn("leaving the job queue group failed", "error",
			err.Error())
	}
	q.consumer.Close()
}

// read takes one record: a job to start (or hold, while replaying), or a
// tombstone that ends one.
func (q *Queue) read(r *kgo.Record) {
	q.mu.Lock()
	p := q.parts[r.Partition]
	if p == nil || p.gone {
		q.mu.Unlock()
		return
	}
	p.next = r.Offset + 1
	key := string(r.Key)
	var cancel []string

	switch {
	case r.Value == nil:
		if k := q.tombstone(p, key); k != "" {
			cancel = append(cancel, k)
		}
	default:
		payload, err := q.sealer.Open(r.Value, r.Key)
		if errors.Is(err, ErrUnknownKey) {
			// Sealed with a key this replica lacks (a key rotation half
			// done). The record stays open, so the offset is never
			// committed past it: a replica with the key, or this one
			// restarted with it, works on it later. Health says so.
			q.log.Error("job record sealed with a key this replica does "+
				"not have; kept for a replica that has it",
				"requestId", key, "partition", r.Partition,
				"offset", r.Offset, "error", err.Error())
			p.open[r.Offset] = &Delivery{Key: key, part: p,
				offset: r.Offset, sealed: true}
			q.unopened.Add(1)
			break
		}
		if err != nil {
			// Not a sealed record at all, or altered: no key opens it,
			// and keeping it would block the partition for good.
			q.log.Error("job record dropped: it is not one this driver "+
				"sealed, or it was altered", "requestId", key,
				"partition", r.Partition, "offset", r.Offset,
				"error", err.Error())
			break
		}
		if old := p.byKey[key]; old != nil {
			// The same request written twice: the later record wins.
			delete(p.open, old.offset)
			if !q.removeHeld(p, key) && !old.finishing {
				cancel = append(cancel, key)
			}
		}
		d := &Delivery{Key: key, Payload: payload, part: p,
			offset: r.Offset}
		p.open[r.Offset] = d
		p.byKey[key] = d
		p.held = append(p.held, d)
	}

	// Replayed jobs wait until the partition has been read up to where
	// it ended at assignment, so that the tombstones of jobs finished
	// before are seen first.
	var start []*Delivery
	if p.next >= p.target {
		start, p.held = p.held, nil
	}
	q.mu.Unlock()
	for _, k := range cancel {
		q.handler.Cancel(k)
	}
	for _, d := range start {
		q.handler.Start(d)
	}
}

// tombstone ends the open job of key, and gives the key when the
// handler must be told to drop the job; q.mu is held.
func (q *Queue) tombstone(p *partition, key string) string {
	d := p.byKey[key]
	if d == nil {
		return ""
	}
	delete(p.byKey, key)
	delete(p.open, d.offset)
	if q.removeHeld(p, key) || d.finishing {
		// Never started, or finished by this very replica.
		return ""
	}
	return key
}

func (q *Queue) removeHeld(p *partition, key string) bool {
	for i, d := range p.held {
		if d.Key == key {
			p.held = append(p.held[:i], p.held[i+1:]...)
			return true
		}
	}
	return false
}

// releaseStale starts held jobs of partitions that have not caught up in
// CatchUpLimit (their last records were removed by retention, say), so
// that nothing waits for ever.
func (q *Queue) releaseStale() {
	var start []*Delivery
	q.mu.Lock()
	for _, p := range q.parts {
		if len(p.held) > 0 &&
			time.Since(p.assigned) > q.opts.CatchUpLimit {
			start = append(start, p.held...)
			p.held = nil
		}
	}
	q.mu.Unlock()
	for _, d := range start {
		q.handler.Start(d)
	}
}

// releaseAll starts every held job.
func (q *Queue) releaseAll() {
	var start []*Delivery
	q.mu.Lock()
	for _, p := range q.parts {
		start = append(start, p.held...)
		p.held = nil
	}
	q.mu.Unlock()
	for _, d := range start {
		q.handler.Start(d)
	}
}

func (q *Queue) heldCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, p := range q.parts {
		n += len(p.held)
	}
	return n
}

func (q *Queue) assigned(ctx context.Context, cl *kgo.Client,
	assigned map[string][]int32) {
	parts := assigned[q.opts.Topic]
	ends := map[int32]int64{}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	listed, err := kadm.NewClient(cl).ListEndOffsets(lctx, q.opts.Topic)
	cancel()
	if err == nil {
		listed.Each(func(o kadm.ListedOffset) {
			if o.Err == nil {
				ends[o.Partition] = o.Offset
			}
		})
	} else {
		q.log.Warn("job queue end offsets unknown; replays start at once",
			"error", err.Error())
	}
	q.mu.Lock()
	for _, id := range parts {
		q.parts[id] = &partition{id: id, open: map[int64]*Delivery{},
			byKey: map[string]*Delivery{}, next: -1, committed: -1,
			target: ends[id], assigned: time.Now()}
	}
	q.mu.Unlock()
	q.log.Info("job queue partitions assigned", "partitions", len(parts))
}

func (q *Queue) revoked(ctx context.Context, _ *kgo.Client,
	revoked map[string][]int32) {
	q.commit(ctx)
	q.forget(revoked[q.opts.Topic])
}

func (q *Queue) lost(_ context.Context, _ *kgo.Client,
	lost map[string][]int32) {
	q.forget(lost[q.opts.Topic])
}

// forget drops partitions; their open jobs go to whoever owns them next.
func (q *Queue) forget(ids []int32) {
	var keys []string
	q.mu.Lock()
	for _, id := range ids {
		p := q.parts[id]
		if p == nil {
			continue
		}
		p.gone = true
		for k := range p.byKey {
			keys = append(keys, k)
		}
		for _, d := range p.open {
			if d.sealed {
				q.unopened.Add(-1)
			}
		}
		delete(q.parts, id)
	}
	q.mu.Unlock()
	if len(keys) > 0 {
		q.handler.Drop(keys)
		q.log.Info("job queue partitions revoked", "partitions", len(ids),
			"jobsHandedOver", len(keys))
	}
}

func (q *Queue) commitLoop(ctx context.Context) {
	t := time.NewTicker(q.opts.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			q.commit(ctx)
		}
	}
}

// commit moves each partition's committed offset to its first open job,
// or past its last record when none is open.
func (q *Queue) commit(ctx context.Context) {
	offsets := map[int32]kgo.EpochOffset{}
	q.mu.Lock()
	for id, p := range q.parts {
		if p.next < 0 {
			continue
		}
		at := p.next
		for off := range p.open {
			at = min(at, off)
		}
		if at > p.committed {
			offsets[id] = kgo.EpochOffset{Epoch: -1, Offset: at}
		}
	}
	q.mu.Unlock()
	if len(offsets) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx),
		10*time.Second)
	defer cancel()
	var commitErr error
	q.consumer.CommitOffsetsSync(cctx, map[string]map[int32]kgo.EpochOffset{
		q.opts.Topic: offsets}, func(_ *kgo.Client, _ *kmsgReq,
		resp *kmsgResp, err error) {
		commitErr = err
		if resp == nil {
			return
		}
		// A partition the broker refused is committed on the next tick.
		for _, t := range resp.Topics {
			for _, part := range t.Partitions {
				if part.ErrorCode != 0 {
					delete(offsets, part.Partition)
				}
			}
		}
	})
	if commitErr != nil {
		q.log.Warn("job queue commit failed", "error", commitErr.Error())
		return
	}
	q.mu.Lock()
	for id, o := range offsets {
		if p := q.parts[id]; p != nil {
			p.committed = o.Offset
		}
	}
	q.mu.Unlock()
}

// Package kafka is the driver's bus: it publishes lifecycle messages with
// acknowledgement from every in-sync replica, creates the topics the
// driver needs, and runs the embedded broker used to try the driver on
// one machine. It is built on franz-go, which needs no cgo.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value string
}

// Bus publishes records and answers whether Kafka can be reached.
type Bus struct {
	client    *kgo.Client
	log       *slog.Logger
	onProduce func(topic string, err error)
}

// Options configure the connection to Kafka.
type Options struct {
	Brokers []string
	// ClientID names the driver to the brokers.
	ClientID string
	// Extra are further franz-go options (TLS, SASL, ...).
	Extra []kgo.Opt
	// OnProduce, when set, is told of every record published.
	OnProduce func(topic string, err error)
}

// Dial makes a Bus. It does not wait for the brokers: a broker that is
// down at start-up is found out by Ping and Publish.
func Dial(opts Options, log *slog.Logger) (*Bus, error) {
	if len(opts.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ClientID(opts.ClientID),
		// Every record waits for all in-sync replicas; the idempotent
		// producer (franz-go's default) keeps retries from duplicating.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(30 * time.Second),
		kgo.RetryTimeout(10 * time.Second),
		kgo.DialTimeout(3 * time.Second),
	}
	kopts = append(kopts, opts.Extra...)
	client, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return &Bus{client: client, log: log, onProduce: opts.OnProduce}, nil
}

// Client is the underlying franz-go client, shared with consumers.
func (b *Bus) Client() *kgo.Client { return b.client }

// Close flushes and closes the connection.
func (b *Bus) Close() { b.client.Close() }

// Ping checks that a broker answers.
func (b *Bus) Ping(ctx context.Context) error {
	if err := b.client.Ping(ctx); err != nil {
		return &UnavailableError{Err: err}
	}
	return nil
}

// UnavailableError is Kafka not accepting what the driver asked.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("Kafka cannot be reached: %v", e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// IsTooLarge reports whether Kafka refused a record for its size: trying
// again cannot help.
func IsTooLarge(err error) bool { return errors.Is(err, kerr.MessageTooLarge) }

// Publish writes one record and waits until every in-sync replica has it.
func (b *Bus) Publish(ctx context.Context, topic, key string, value []byte,
	headers []Header) error {
	rec := &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
	for _, h := range headers {
		rec.Headers = append(rec.Headers,
			kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)})
	}
	err := b.client.ProduceSync(ctx, rec).FirstErr()
	if b.onProduce != nil {
		b.onProduce(topic, err)
	}
	if err != nil {
		return &UnavailableError{Err: fmt.Errorf("publish to %s: %w",
			topic, err)}
	}
	return nil
}

// EnsureTopics creates the topics that do not exist yet.
func (b *Bus) EnsureTopics(ctx context.Context, partitions int32,
	replication int16, topics ...string) error {
	adm := kadm.NewClient(b.client)
	res, err := adm.CreateTopics(ctx, partitions, replication, nil,
		topics...)
	if err != nil {
		return &UnavailableError{Err: fmt.Errorf("create topics: %w", err)}
	}
	for _, r := range res.Sorted() {
		if r.Err == nil {
			b.log.Info("created topic", "topic", r.Topic,
				"partitions", partitions)
			continue
		}
		if errors.Is(r.Err, kerr.TopicAlreadyExists) {
			continue
		}
		return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
	}
	return nil
}

// Embedded is an in-process Kafka-protocol broker, for trying the driver
// on one machine. Its data lives in a folder, so a restart loses nothing.
type Embedded struct {
	cluster *kfake.Cluster
}

// StartEmbedded starts the embedded broker on listen, keeping its data
// in dataDir.
func StartEmbedded(listen, dataDir string) (*Embedded, error) {
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return nil, fmt.Errorf("embedded broker address %q: %w", listen,
			err)
	}
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		// kfake binds to 127.0.0.1 with the port it is given; the
		// listener function puts it on the configured address instead.
		kfake.Ports(0),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, listen)
		}),
		kfake.DataDir(dataDir),
		kfake.SyncWrites(),
		kfake.DefaultNumPartitions(1),
	)
	if err != nil {
		return nil, fmt.Errorf("embedded broker on %s: %w", listen, err)
	}
	return &Embedded{cluster: cluster}, nil
}

// Addrs gives the broker addresses to connect to.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Close stops the broker, writing its state to disk.
func (e *Embedded) Close() { e.cluster.Close() }

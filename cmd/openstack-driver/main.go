// Command openstack-driver runs the OpenStack resource driver for Brent:
// the HTTP API, the pollers that follow stacks, and, when no Kafka is
// configured, an embedded broker for trying it on one machine. This file
// only wires the packages together.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tnco-drivers/openstack-driver/config"
	"github.com/tnco-drivers/openstack-driver/discovery"
	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/jobs"
	"github.com/tnco-drivers/openstack-driver/kafka"
	"github.com/tnco-drivers/openstack-driver/lifecycle"
	"github.com/tnco-drivers/openstack-driver/metrics"
	"github.com/tnco-drivers/openstack-driver/resourcepkg"
	"github.com/tnco-drivers/openstack-driver/server"
	"github.com/tnco-drivers/openstack-driver/testdrive"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "testdrive" {
		os.Exit(testdrive.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := config.Load(args, os.LookupEnv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "openstack-driver: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM,
		os.Interrupt)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("driver stopped", "error", err.Error())
		return 1
	}
	log.Info("driver stopped")
	return 0
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr,
		&slog.HandlerOptions{Level: l}))
}

// health answers the management endpoints.
type health struct {
	bus     *kafka.Bus
	queue   *jobs.Queue
	running atomic.Bool
}

func (h *health) Kafka(ctx context.Context) error { return h.bus.Ping(ctx) }
func (h *health) Workers() bool                   { return h.running.Load() }
func (h *health) JobQueue() error                 { return h.queue.Healthy() }

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	brokers := cfg.KafkaBrokers
	if len(brokers) == 0 {
		dir := filepath.Join(cfg.DataDir, "kafka")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("data folder: %w", err)
		}
		embedded, err := kafka.StartEmbedded(cfg.EmbeddedKafkaListen, dir)
		if err != nil {
			return err
		}
		defer embedded.Close()
		brokers = embedded.Addrs()
		log.Warn("no Kafka brokers configured: using the embedded broker, "+
			"which is for trying the driver and not for production",
			"address", brokers, "dataDir", dir)
	}

	sealer, err := jobSealer(cfg, len(cfg.KafkaBrokers) == 0, log)
	if err != nil {
		return err
	}
	m := metrics.New(version)
	var security []kgo.Opt
	if len(cfg.KafkaBrokers) > 0 {
		security, err = kafka.Security{TLS: cfg.KafkaTLS,
			CAFile: cfg.KafkaCAFile, CertFile: cfg.KafkaCertFile,
			KeyFile: cfg.KafkaKeyFile, Mechanism: cfg.KafkaSASLMechanism,
			Username:     cfg.KafkaSASLUsername,
			PasswordFile: cfg.KafkaSASLPassword}.Options()
		if err != nil {
			return err
		}
	}
	bus, err := kafka.Dial(kafka.Options{Brokers: brokers,
		ClientID: "openstack-driver", OnProduce: m.Produced,
		Extra: security}, log)
	if err != nil {
		return err
	}
	defer bus.Close()
	if cfg.CreateTopics {
		ensureTopics(ctx, cfg, bus, log)
	}
	queue := jobs.New(jobs.Options{Topic: cfg.JobsTopic,
		Group: cfg.ConsumerGroup, Brokers: brokers, Extra: security,
		MaxJobs: cfg.MaxJobsInMemory},
		countingProducer{client: bus.Client(), m: m}, sealer, log)

	clients := heat.NewClients(heat.Options{Timeout: cfg.OpenStackTimeout,
		IdleTTL: cfg.ClientIdleTTL, Transport: countCalls(m)})
	limits := resourcepkg.Limits{MaxBytes: cfg.MaxPackageBytes,
		MaxEntries: cfg.MaxPackageEntries}
	engine := lifecycle.NewEngine(lifecycle.Settings{
		EventsTopic:         cfg.EventsTopic,
		ProgressTopic:       cfg.ProgressTopic,
		ProgressInterval:    cfg.ProgressInterval,
		PackageLimits:       limits,
		StackTimeoutMins:    cfg.StackTimeoutMins,
		DeadlineMargin:      cfg.DeadlineMargin,
		DisableRollback:     cfg.DisableRollback,
		AdoptableStates:     cfg.AdoptableStates,
		PollInterval:        cfg.PollInterval,
		PollMaxInterval:     cfg.PollMaxInterval,
		Workers:             cfg.Workers,
		DeleteRetries:       cfg.DeleteRetries,
		MaxHeatRequestBytes: int(cfg.MaxHeatRequest),
		Observer:            m,
		BatchPolling:        cfg.BatchPolling,
		OpenStackTimeout:    cfg.OpenStackTimeout,
	}, clients, bus, queue, log)

	// The pollers and the queue's consumer stop after the HTTP server,
	// so that requests in flight are recorded and followed.
	h := &health{bus: bus, queue: queue}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	workers.Go(func() {
		h.running.Store(true)
		defer h.running.Store(false)
		engine.Run(workCtx)
	})
	var consumer sync.WaitGroup
	consumer.Go(func() {
		if err := queue.Run(workCtx, engine.Jobs()); err != nil {
			log.Error("job queue stopped", "error", err.Error())
		}
	})
	stopAll := func() {
		stopWork()
		consumer.Wait()
		workers.Wait()
		cctx, cancel := context.WithTimeout(context.Background(),
			10*time.Second)
		queue.Close(cctx)
		cancel()
	}

	m.Gauge("lifecycle_requests_in_flight", "Requests this replica is "+
		"following until their stack settles.", func() float64 {
		return float64(engine.Pending())
	})
	go watchLag(workCtx, bus, cfg.ConsumerGroup, m)

	finder := discovery.NewService(clients, limits)
	api := server.New(server.Options{MaxBodyBytes: cfg.MaxBodyBytes,
		Pinger: clients, Observe: m.HTTP}, engine, finder, h, log)
	api.Handle("/metrics", m.Handler().ServeHTTP, http.MethodGet)
	var handler http.Handler = api
	if cfg.APITokenFile != "" {
		token, err := server.ReadToken(cfg.APITokenFile)
		if err != nil {
			stopAll()
			return err
		}
		handler = server.RequireToken(token, handler)
	}
	if cfg.TLSClientCAFile != "" {
		handler = server.RequireClientCert(handler)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		stopAll()
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if cfg.TLSCertFile != "" {
		certs, err := server.NewCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err == nil {
			certs.OnError = func(err error) {
				log.Error("new TLS certificate not used; the old one "+
					"is still served", "error", err.Error())
			}
			srv.TLSConfig, err = server.TLSConfig(certs, cfg.TLSClientCAFile)
		}
		if err != nil {
			ln.Close()
			stopAll()
			return err
		}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	log.Info("driver listening", "address", ln.Addr().String(),
		"tls", cfg.TLSCertFile != "", "eventsTopic", cfg.EventsTopic)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down: no new requests; finishing those in flight")
		sctx, cancel := context.WithTimeout(context.Background(),
			cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
	}
	pending := engine.Pending()
	stopAll()
	if pending > 0 {
		log.Info("requests handed over to the other replicas (or to the "+
			"next start) through the job queue", "pending", pending)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// countCalls wraps the transport of every OpenStack client so that each
// call is counted and timed by service and operation.
func countCalls(m *metrics.Metrics) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			start := time.Now()
			resp, err := next.RoundTrip(req)
			code := 0
			if err == nil {
				code = resp.StatusCode
			}
			service, op := heat.Operation(req)
			m.CloudCall(service, op, code, time.Since(start))
			return resp, err
		})
	}
}

// countingProducer counts the job queue's records in the Kafka metrics.
type countingProducer struct {
	client *kgo.Client
	m      *metrics.Metrics
}

func (p countingProducer) ProduceSync(ctx context.Context,
	rs ...*kgo.Record) kgo.ProduceResults {
	res := p.client.ProduceSync(ctx, rs...)
	for _, r := range res {
		p.m.Produced(r.Record.Topic, r.Err)
	}
	return res
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) {
	return f(r)
}

// watchLag reads the job queue's consumer lag every 15 s for the metrics.
func watchLag(ctx context.Context, bus *kafka.Bus, group string,
	m *metrics.Metrics) {
	adm := kadm.NewClient(bus.Client())
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(15 * time.Second):
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lags, err := adm.Lag(lctx, group)
		cancel()
		if err != nil {
			continue
		}
		if l, ok := lags[group]; ok && l.Error() == nil {
			m.QueueLag(l.Lag.Total())
		}
	}
}

// topicsOf lists the topics the driver writes to.
func topicsOf(cfg *config.Config) []string {
	topics := []string{cfg.EventsTopic, cfg.JobsTopic}
	if cfg.ProgressTopic != "" {
		topics = append(topics, cfg.ProgressTopic)
	}
	return topics
}

// jobSealer loads the job-queue keys. With an external broker the key
// must come from the operator (a Kubernetes secret, say): a key made up
// here would differ between replicas. With the embedded broker one is
// generated in the data folder.
func jobSealer(cfg *config.Config, embedded bool,
	log *slog.Logger) (*jobs.Sealer, error) {
	var keys [][]byte
	var err error
	switch {
	case cfg.JobKeyFile != "":
		keys, err = jobs.ReadKeyFile(cfg.JobKeyFile)
	case embedded:
		path := filepath.Join(cfg.DataDir, "job-keys")
		var created bool
		keys, created, err = jobs.EnsureKeyFile(path)
		if created {
			log.Info("generated a job-queue key for the embedded broker",
				"file", path)
		}
	default:
		return nil, errors.New("DRIVER_JOB_KEY_FILE is required with an " +
			"external Kafka: the job queue's records carry credentials " +
			"and are encrypted with its keys")
	}
	if err != nil {
		return nil, err
	}
	return jobs.NewSealer(keys)
}

// ensureTopics creates the topics the driver needs, trying again in the
// background while the broker cannot be reached: execute answers 503 until
// then, which is what Brent expects of a driver whose Kafka is down.
func ensureTopics(ctx context.Context, cfg *config.Config, bus *kafka.Bus,
	log *slog.Logger) {
	try := func() error {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return bus.EnsureTopics(tctx, int32(cfg.TopicPartitions),
			int16(cfg.TopicReplication), topicsOf(cfg)...)
	}
	if err := try(); err == nil {
		return
	} else {
		log.Warn("topics not created yet; trying again in the background",
			"error", err.Error())
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
			}
			if err := try(); err == nil {
				return
			}
		}
	}()
}

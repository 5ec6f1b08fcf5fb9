// Package config holds the driver's settings: their names, defaults and
// help texts in one list, and the rules that decide where a value comes
// from. A flag beats an environment variable, which beats the YAML file
// named by DRIVER_CONFIG, which beats the default.
//
// Every setting has three spellings derived from one name: the environment
// variable DRIVER_KAFKA_BROKERS, the flag --kafka-brokers and the YAML key
// kafka_brokers. The list below is also what --help prints and what the
// configuration reference in docs/ is generated from, so it cannot drift.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the driver's whole configuration after loading.
type Config struct {
	Listen              string
	TLSCertFile         string
	TLSKeyFile          string
	TLSClientCAFile     string
	APITokenFile        string
	KafkaTLS            bool
	KafkaCAFile         string
	KafkaCertFile       string
	KafkaKeyFile        string
	KafkaSASLMechanism  string
	KafkaSASLUsername   string
	KafkaSASLPassword   string
	KafkaBrokers        []string
	JobKeyFile          string
	LogLevel            string
	DataDir             string
	EmbeddedKafkaListen string
	EventsTopic         string
	ProgressTopic       string
	ProgressInterval    time.Duration
	JobsTopic           string
	ConsumerGroup       string
	MaxJobsInMemory     int
	CreateTopics        bool
	TopicPartitions     int
	TopicReplication    int

	MaxBodyBytes      int64
	MaxPackageBytes   int64
	MaxPackageEntries int
	MaxHeatRequest    int64

	HTTPReadTimeout  time.Duration
	HTTPWriteTimeout time.Duration
	ShutdownTimeout  time.Duration

	OpenStackTimeout time.Duration
	ClientIdleTTL    time.Duration

	PollInterval    time.Duration
	PollMaxInterval time.Duration
	Workers         int

	StackTimeoutMins int
	DeadlineMargin   time.Duration
	DisableRollback  bool
	AdoptableStates  []string
	DeleteRetries    int
	BatchPolling     bool
}

// Setting describes one configuration value.
type Setting struct {
	// Name is the YAML key; the flag and variable names derive from it.
	Name string
	// Default is the value's text form when nothing else sets it.
	Default string
	// Help says what the setting does, for --help and the docs.
	Help string

	apply func(c *Config, value string) error
}

// Env is the environment variable that sets s.
func (s Setting) Env() string { return "DRIVER_" + strings.ToUpper(s.Name) }

// Flag is the command-line flag that sets s, without the leading dashes.
func (s Setting) Flag() string { return strings.ReplaceAll(s.Name, "_", "-") }

// Settings lists every setting in the order --help shows them.
func Settings() []Setting {
	return []Setting{
		str("listen", ":8292", "address the HTTP API listens on",
			func(c *Config) *string { return &c.Listen }),
		str("tls_cert_file", "", "PEM certificate to serve HTTPS with "+
			"(read again when it changes); empty serves HTTP",
			func(c *Config) *string { return &c.TLSCertFile }),
		str("tls_key_file", "", "PEM key of tls_cert_file",
			func(c *Config) *string { return &c.TLSKeyFile }),
		str("tls_client_ca_file", "", "PEM CA bundle: when set, callers "+
			"must present a client certificate it signed",
			func(c *Config) *string { return &c.TLSClientCAFile }),
		str("api_token_file", "", "file holding a bearer token that "+
			"calls to /api/ must carry; empty: no token checked",
			func(c *Config) *string { return &c.APITokenFile }),
		{Name: "kafka_brokers", Default: "",
			Help: "comma-separated Kafka bootstrap brokers; empty starts " +
				"the embedded broker (for trying the driver only)",
			apply: func(c *Config, v string) error {
				c.KafkaBrokers = splitList(v)
				return nil
			}},
		boolean("kafka_tls", "false", "connect to the brokers over TLS",
			func(c *Config) *bool { return &c.KafkaTLS }),
		str("kafka_ca_file", "", "PEM CA bundle of the brokers",
			func(c *Config) *string { return &c.KafkaCAFile }),
		str("kafka_cert_file", "", "PEM client certificate for the "+
			"brokers", func(c *Config) *string { return &c.KafkaCertFile }),
		str("kafka_key_file", "", "PEM key of kafka_cert_file",
			func(c *Config) *string { return &c.KafkaKeyFile }),
		str("kafka_sasl_mechanism", "", "SASL mechanism: PLAIN, "+
			"SCRAM-SHA-256 or SCRAM-SHA-512; empty: none",
			func(c *Config) *string { return &c.KafkaSASLMechanism }),
		str("kafka_sasl_username", "", "SASL user name",
			func(c *Config) *string { return &c.KafkaSASLUsername }),
		str("kafka_sasl_password_file", "", "file holding the SASL "+
			"password", func(c *Config) *string {
			return &c.KafkaSASLPassword
		}),
		str("job_key_file", "", "file of base64 32-byte job-queue keys, "+
			"one per line, the first current; generated in data_dir "+
			"with the embedded broker",
			func(c *Config) *string { return &c.JobKeyFile }),
		{Name: "log_level", Default: "info",
			Help: "log level: debug, info, warn or error",
			apply: func(c *Config, v string) error {
				switch strings.ToLower(v) {
				case "debug", "info", "warn", "error":
					c.LogLevel = strings.ToLower(v)
					return nil
				}
				return fmt.Errorf("want debug, info, warn or error, "+
					"not %q", v)
			}},
		str("data_dir", "data", "folder of the embedded broker's data "+
			"and generated keys, relative to the working directory",
			func(c *Config) *string { return &c.DataDir }),
		str("embedded_kafka_listen", "127.0.0.1:9092",
			"address of the embedded broker",
			func(c *Config) *string { return &c.EmbeddedKafkaListen }),
		str("events_topic", "lm_vnfc_lifecycle_execution_events",
			"topic of the lifecycle execution events Brent reads",
			func(c *Config) *string { return &c.EventsTopic }),
		str("progress_topic", "openstack_driver_progress", "topic of "+
			"progress events (resources done out of total); empty turns "+
			"them off", func(c *Config) *string { return &c.ProgressTopic }),
		duration("progress_interval", "10s", "least time between two "+
			"progress reads of one stack", func(c *Config) *time.Duration {
			return &c.ProgressInterval
		}),
		str("jobs_topic", "openstack_driver_jobs", "topic of the durable "+
			"job queue shared by the replicas",
			func(c *Config) *string { return &c.JobsTopic }),
		str("consumer_group", "openstack-driver", "Kafka consumer group "+
			"of the replicas that share the job queue",
			func(c *Config) *string { return &c.ConsumerGroup }),
		integer("max_jobs_in_memory", "20000", "most requests one "+
			"replica follows at once; beyond it, the queue waits",
			func(c *Config) *int { return &c.MaxJobsInMemory }),
		boolean("create_topics", "true", "create missing topics at start",
			func(c *Config) *bool { return &c.CreateTopics }),
		integer("topic_partitions", "50", "partitions of topics the "+
			"driver creates", func(c *Config) *int {
			return &c.TopicPartitions
		}),
		integer("topic_replication", "-1", "replication factor of "+
			"topics the driver creates (-1: the broker's default)",
			func(c *Config) *int { return &c.TopicReplication }),
		size("max_body_bytes", "100MiB", "largest request body accepted",
			func(c *Config) *int64 { return &c.MaxBodyBytes }),
		size("max_package_bytes", "200MiB", "largest total unzipped "+
			"size of a package", func(c *Config) *int64 {
			return &c.MaxPackageBytes
		}),
		integer("max_package_entries", "5000", "most entries in a "+
			"package zip", func(c *Config) *int {
			return &c.MaxPackageEntries
		}),
		size("max_heat_request_bytes", "1MiB", "largest template, files "+
			"and environment sent to Heat together; match Heat's "+
			"max_json_body_size", func(c *Config) *int64 {
			return &c.MaxHeatRequest
		}),
		duration("http_read_timeout", "2m", "time to read a whole "+
			"request", func(c *Config) *time.Duration {
			return &c.HTTPReadTimeout
		}),
		duration("http_write_timeout", "2m", "time to answer a request",
			func(c *Config) *time.Duration { return &c.HTTPWriteTimeout }),
		duration("shutdown_timeout", "25s", "time in-flight work gets "+
			"after SIGTERM", func(c *Config) *time.Duration {
			return &c.ShutdownTimeout
		}),
		duration("openstack_timeout", "30s", "time limit of one call to "+
			"Keystone, Heat or Neutron", func(c *Config) *time.Duration {
			return &c.OpenStackTimeout
		}),
		duration("client_idle_ttl", "1h", "how long an authenticated "+
			"client of an unused deployment location is kept",
			func(c *Config) *time.Duration { return &c.ClientIdleTTL }),
		duration("poll_interval", "500ms", "time between looks at a "+
			"young stack; a stack is then looked at every sixth of its "+
			"age, up to poll_max_interval",
			func(c *Config) *time.Duration { return &c.PollInterval }),
		duration("poll_max_interval", "30s", "longest time between "+
			"looks at a stack", func(c *Config) *time.Duration {
			return &c.PollMaxInterval
		}),
		integer("workers", "64", "looks at stacks run at once (each "+
			"waits on Heat; a goroutine each)",
			func(c *Config) *int { return &c.Workers }),
		integer("stack_timeout_mins", "60", "Heat stack timeout when "+
			"the request has no timeout_mins", func(c *Config) *int {
			return &c.StackTimeoutMins
		}),
		duration("deadline_margin", "10m", "time past the stack timeout "+
			"before the driver gives up on a request",
			func(c *Config) *time.Duration { return &c.DeadlineMargin }),
		boolean("disable_rollback", "true", "keep a failed stack for "+
			"inspection when the request does not say",
			func(c *Config) *bool { return &c.DisableRollback }),
		boolean("batch_polling", "true", "answer many requests' looks at "+
			"their stacks with one stack list call per location; only "+
			"stacks that changed get a full read",
			func(c *Config) *bool { return &c.BatchPolling }),
		integer("delete_retries", "2", "times a failed stack delete is "+
			"asked again before the Delete fails", func(c *Config) *int {
			return &c.DeleteRetries
		}),
		{Name: "adoptable_states", Default: "CREATE_COMPLETE," +
			"ADOPT_COMPLETE,RESUME_COMPLETE,CHECK_COMPLETE,UPDATE_COMPLETE",
			Help: "stack states in which Adopt completes",
			apply: func(c *Config, v string) error {
				c.AdoptableStates = splitList(strings.ToUpper(v))
				return nil
			}},
	}
}

// Load reads the configuration from args (without the program name), the
// environment and the YAML file named by --config or DRIVER_CONFIG. It
// returns flag.ErrHelp after printing help to out when asked for it.
//
// lookupEnv is os.LookupEnv in production: a variable set to the empty
// string counts as set, so DRIVER_KAFKA_BROKERS= clears a value from the
// file and selects the embedded broker.
func Load(args []string, lookupEnv func(string) (string, bool),
	out io.Writer) (*Config, error) {
	settings := Settings()
	values := map[string]string{}
	for _, s := range settings {
		values[s.Name] = s.Default
	}

	fs := flag.NewFlagSet("openstack-driver", flag.ContinueOnError)
	fs.SetOutput(out)
	flagged := map[string]*string{}
	for _, s := range settings {
		flagged[s.Name] = fs.String(s.Flag(), s.Default,
			fmt.Sprintf("%s (env %s)", s.Help, s.Env()))
	}
	configFile := fs.String("config", "",
		"YAML file of settings (env DRIVER_CONFIG)")
	fs.Usage = func() { Usage(out) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	path := *configFile
	if path == "" {
		path, _ = lookupEnv("DRIVER_CONFIG")
	}
	if path != "" {
		fromFile, err := readFile(path, settings)
		if err != nil {
			return nil, err
		}
		for k, v := range fromFile {
			values[k] = v
		}
	}
	for _, s := range settings {
		if v, ok := lookupEnv(s.Env()); ok {
			values[s.Name] = v
		}
	}
	fs.Visit(func(f *flag.Flag) {
		name := strings.ReplaceAll(f.Name, "-", "_")
		if p, ok := flagged[name]; ok {
			values[name] = *p
		}
	})

	c := &Config{}
	for _, s := range settings {
		if err := s.apply(c, values[s.Name]); err != nil {
			return nil, fmt.Errorf("setting %s: %w", s.Name, err)
		}
	}
	return c, c.check()
}

// Usage prints every setting with its default.
func Usage(out io.Writer) {
	fmt.Fprintln(out, "Usage: openstack-driver [flags]")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Each setting is a flag, an environment variable and a"+
		" key of the YAML file named by --config or DRIVER_CONFIG;")
	fmt.Fprintln(out, "a flag beats the variable, which beats the file.")
	fmt.Fprintln(out)
	fmt.Fprintf(out, "  --%s\n      %s\n", "config",
		"YAML file of settings (env DRIVER_CONFIG)")
	for _, s := range Settings() {
		def := s.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(out, "  --%s (env %s, default %s)\n      %s\n",
			s.Flag(), s.Env(), def, s.Help)
	}
}

func readFile(path string, settings []Setting) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.Name] = true
	}
	out := map[string]string{}
	var unknown []string
	for k, v := range raw {
		if !known[k] {
			unknown = append(unknown, k)
			continue
		}
		switch t := v.(type) {
		case nil:
			out[k] = ""
		case []any:
			parts := make([]string, len(t))
			for i, p := range t {
				parts[i] = fmt.Sprint(p)
			}
			out[k] = strings.Join(parts, ",")
		default:
			out[k] = fmt.Sprint(t)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("config file %s: unknown settings %s",
			path, strings.Join(unknown, ", "))
	}
	return out, nil
}

func (c *Config) check() error {
	var errs []error
	if c.Workers < 1 {
		errs = append(errs, errors.New("workers must be at least 1"))
	}
	if c.PollInterval <= 0 || c.PollMaxInterval < c.PollInterval {
		errs = append(errs, errors.New("poll_interval must be positive "+
			"and at most poll_max_interval"))
	}
	if c.StackTimeoutMins < 1 {
		errs = append(errs, errors.New("stack_timeout_mins must be "+
			"at least 1"))
	}
	positive := map[string]int64{
		"max_body_bytes":      c.MaxBodyBytes,
		"max_package_bytes":   c.MaxPackageBytes,
		"max_package_entries": int64(c.MaxPackageEntries),
		"topic_partitions":    int64(c.TopicPartitions),
	}
	for _, name := range []string{"max_body_bytes", "max_package_bytes",
		"max_package_entries", "topic_partitions"} {
		if positive[name] < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1", name))
		}
	}
	for name, v := range map[string]string{"events_topic": c.EventsTopic,
		"jobs_topic": c.JobsTopic, "consumer_group": c.ConsumerGroup} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s must not be empty", name))
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("tls_cert_file and tls_key_file "+
			"go together"))
	}
	if c.TLSClientCAFile != "" && c.TLSCertFile == "" {
		errs = append(errs, errors.New("tls_client_ca_file needs "+
			"tls_cert_file and tls_key_file"))
	}
	if c.MaxJobsInMemory < 1 {
		errs = append(errs, errors.New("max_jobs_in_memory must be at "+
			"least 1"))
	}
	return errors.Join(errs...)
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func str(name, def, help string, field func(*Config) *string) Setting {
	return Setting{Name: name, Default: def, Help: help,
		apply: func(c *Config, v string) error {
			*field(c) = v
			return nil
		}}
}

func boolean(name, def, help string, field func(*Config) *bool) Setting {
	return Setting{Name: name, Default: def, Help: help,
		apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, not %q", v)
			}
			*field(c) = b
			return nil
		}}
}

func integer(name, def, help string, field func(*Config) *int) Setting {
	return Setting{Name: name, Default: def, Help: help,
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("want a whole number, not %q", v)
			}
			*field(c) = n
			return nil
		}}
}

func duration(name, def, help string,
	field func(*Config) *time.Duration) Setting {
	return Setting{Name: name, Default: def, Help: help,
		apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration such as 30s, not %q",
					v)
			}
			*field(c) = d
			return nil
		}}
}

func size(name, def, help string, field func(*Config) *int64) Setting {
	return Setting{Name: name, Default: def, Help: help,
		apply: func(c *Config, v string) error {
			n, err := ParseSize(v)
			if err != nil {
				return err
			}
			*field(c) = n
			return nil
		}}
}

// ParseSize reads a byte count such as 100MiB, 20KB or 1048576.
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	units := []struct {
		suffix string
		factor int64
	}{
		{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
	}
	factor := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			factor = u.factor
			s = strings.TrimSpace(strings.TrimSuffix(s, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/factor {
		return 0, fmt.Errorf("want a size such as 100MiB, not %q", v)
	}
	return n * factor, nil
}

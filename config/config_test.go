package config_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/config"
)

// env is a fake environment for Load.
type env map[string]string

func (e env) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// load runs config.Load with args and the environment e, returning what
// it printed too.
func load(args []string, e env) (*config.Config, string, error) {
	var out bytes.Buffer
	c, err := config.Load(args, e.lookup, &out)
	return c, out.String(), err
}

// writeYAML writes a config file in a fresh folder and gives its path.
func writeYAML(text string) string {
	GinkgoHelper()
	path := filepath.Join(GinkgoT().TempDir(), "driver.yaml")
	Expect(os.WriteFile(path, []byte(text), 0o600)).To(Succeed())
	return path
}

var _ = Describe("The driver's configuration", func() {

	Describe("defaults", func() {
		var c *config.Config

		BeforeEach(func() {
			var err error
			c, _, err = load(nil, env{})
			Expect(err).NotTo(HaveOccurred())
		})

		It("listens on :8292", func() {
			Expect(c.Listen).To(Equal(":8292"))
		})

		It("publishes events to lm_vnfc_lifecycle_execution_events", func() {
			Expect(c.EventsTopic).To(Equal("lm_vnfc_lifecycle_execution_events"))
		})

		It("accepts request bodies up to 100 MiB", func() {
			Expect(c.MaxBodyBytes).To(Equal(int64(104857600)))
		})

		It("accepts packages up to 200 MiB unzipped and 5000 entries", func() {
			Expect(c.MaxPackageBytes).To(Equal(int64(209715200)))
			Expect(c.MaxPackageEntries).To(Equal(5000))
		})

		It("logs at info level", func() {
			Expect(c.LogLevel).To(Equal("info"))
		})

		It("keeps data in ./data and runs the embedded broker on 127.0.0.1:9092 when no brokers are given", func() {
			Expect(c.DataDir).To(Equal("data"))
			Expect(c.EmbeddedKafkaListen).To(Equal("127.0.0.1:9092"))
			Expect(c.KafkaBrokers).To(BeEmpty())
		})

		It("has working values for the remaining settings", func() {
			Expect(c.CreateTopics).To(BeTrue())
			Expect(c.TopicPartitions).To(Equal(50))
			Expect(c.TopicReplication).To(Equal(-1))
			Expect(c.HTTPReadTimeout).To(Equal(2 * time.Minute))
			Expect(c.HTTPWriteTimeout).To(Equal(2 * time.Minute))
			Expect(c.ShutdownTimeout).To(Equal(25 * time.Second))
			Expect(c.OpenStackTimeout).To(Equal(30 * time.Second))
			Expect(c.ClientIdleTTL).To(Equal(time.Hour))
			Expect(c.PollInterval).To(Equal(500 * time.Millisecond))
			Expect(c.PollMaxInterval).To(Equal(30 * time.Second))
			Expect(c.Workers).To(Equal(64))
			Expect(c.StackTimeoutMins).To(Equal(60))
			Expect(c.DeadlineMargin).To(Equal(10 * time.Minute))
			Expect(c.DisableRollback).To(BeTrue())
			Expect(c.AdoptableStates).To(Equal([]string{"CREATE_COMPLETE",
				"ADOPT_COMPLETE", "RESUME_COMPLETE", "CHECK_COMPLETE",
				"UPDATE_COMPLETE"}))
			Expect(c.JobKeyFile).To(BeEmpty())
		})
	})

	Describe("names", func() {
		It("derives the environment variable and the flag from the YAML key", func() {
			var brokers config.Setting
			for _, s := range config.Settings() {
				if s.Name == "kafka_brokers" {
					brokers = s
				}
			}

			Expect(brokers.Env()).To(Equal("DRIVER_KAFKA_BROKERS"))
			Expect(brokers.Flag()).To(Equal("kafka-brokers"))
		})
	})

	Describe("where a value comes from", func() {
		var file string

		BeforeEach(func() {
			file = writeYAML("listen: \":1000\"\n")
		})

		DescribeTable("a flag beats an environment variable, which beats the file, which beats the default",
			func(args []string, e env, want string) {
				// In the entries, DRIVER_CONFIG "FILE" stands for the
				// file written above, which sets listen to :1000.
				actual := env{}
				for k, v := range e {
					if k == "DRIVER_CONFIG" && v == "FILE" {
						v = file
					}
					actual[k] = v
				}
				c, _, err := load(args, actual)

				Expect(err).NotTo(HaveOccurred())
				Expect(c.Listen).To(Equal(want))
			},
			Entry("all four: the flag",
				[]string{"--listen=:3000"}, env{"DRIVER_LISTEN": ":2000", "DRIVER_CONFIG": "FILE"}, ":3000"),
			Entry("variable, file and default: the variable",
				nil, env{"DRIVER_LISTEN": ":2000", "DRIVER_CONFIG": "FILE"}, ":2000"),
			Entry("file and default: the file",
				nil, env{"DRIVER_CONFIG": "FILE"}, ":1000"),
			Entry("flag and file: the flag",
				[]string{"-listen", ":3000"}, env{"DRIVER_CONFIG": "FILE"}, ":3000"),
			Entry("nothing: the default",
				nil, env{}, ":8292"),
		)

		It("reads the file named by --config in preference to DRIVER_CONFIG", func() {
			other := writeYAML("listen: \":4000\"\n")

			c, _, err := load([]string{"--config", other}, env{"DRIVER_CONFIG": file})

			Expect(err).NotTo(HaveOccurred())
			Expect(c.Listen).To(Equal(":4000"))
		})

		It("counts a variable set to the empty string as set: it clears a value from the file", func() {
			withBrokers := writeYAML("kafka_brokers: kafka:9092\n")

			c, _, err := load(nil, env{"DRIVER_CONFIG": withBrokers, "DRIVER_KAFKA_BROKERS": ""})

			Expect(err).NotTo(HaveOccurred())
			Expect(c.KafkaBrokers).To(BeEmpty())
		})

		It("counts a flag set to the empty string as set: it clears a value from the variable", func() {
			c, _, err := load([]string{"--kafka-brokers="}, env{"DRIVER_KAFKA_BROKERS": "kafka:9092"})

			Expect(err).NotTo(HaveOccurred())
			Expect(c.KafkaBrokers).To(BeEmpty())
		})

		It("reads an operator's YAML file, lists and sizes included", func() {
			c, _, err := load([]string{"--config", filepath.Join("testdata", "driver.yaml")}, env{})

			Expect(err).NotTo(HaveOccurred())
			Expect(c.Listen).To(Equal(":9000"))
			Expect(c.KafkaBrokers).To(Equal([]string{"kafka-0.kafka:9092", "kafka-1.kafka:9092"}))
			Expect(c.LogLevel).To(Equal("debug"))
			Expect(c.Workers).To(Equal(4))
			Expect(c.MaxBodyBytes).To(Equal(int64(1 << 20)))
			Expect(c.CreateTopics).To(BeFalse())
			Expect(c.PollInterval).To(Equal(5 * time.Second))
			Expect(c.EventsTopic).To(Equal("lm_vnfc_lifecycle_execution_events"),
				"what the file does not set keeps its default")
		})

		It("splits a comma-separated broker list, dropping blanks", func() {
			c, _, err := load(nil, env{"DRIVER_KAFKA_BROKERS": " a:9092, b:9092 ,,"})

			Expect(err).NotTo(HaveOccurred())
			Expect(c.KafkaBrokers).To(Equal([]string{"a:9092", "b:9092"}))
		})

		It("accepts the log level in any case", func() {
			c, _, err := load([]string{"--log-level=WARN"}, env{})

			Expect(err).NotTo(HaveOccurred())
			Expect(c.LogLevel).To(Equal("warn"))
		})
	})

	Describe("mistakes", func() {
		It("refuses a YAML key that is not a setting, naming it", func() {
			_, _, err := load([]string{"--config", filepath.Join("testdata", "unknown-key.yaml")}, env{})

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("listen_port"))
			Expect(err.Error()).To(ContainSubstring("kafka_broker"))
		})

		It("refuses a YAML file that is not a mapping of settings", func() {
			_, _, err := load([]string{"--config", filepath.Join("testdata", "not-a-mapping.yaml")}, env{})

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("not-a-mapping.yaml"))
		})

		It("refuses a config file that does not exist", func() {
			_, _, err := load(nil, env{"DRIVER_CONFIG": filepath.Join("testdata", "missing.yaml")})

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("missing.yaml"))
		})

		It("refuses an unknown flag", func() {
			_, _, err := load([]string{"--listen-port=1"}, env{})

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("listen-port"))
		})

		It("refuses an argument that is not a flag", func() {
			_, _, err := load([]string{"serve"}, env{})

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(`"serve"`))
		})

		DescribeTable("refuses a bad value, naming the setting",
			func(setting, value string) {
				_, _, err := load([]string{"--" + strings.ReplaceAll(setting, "_", "-") + "=" + value}, env{})

				Expect(err).To(HaveOccurred())
				Expect(err.Error()).To(ContainSubstring(setting))
			},
			Entry(nil, "workers", "many"),
			Entry(nil, "workers", "0"),
			Entry(nil, "log_level", "loud"),
			Entry(nil, "create_topics", "maybe"),
			Entry(nil, "disable_rollback", "sometimes"),
			Entry(nil, "poll_interval", "soon"),
			Entry(nil, "poll_interval", "0s"),
			Entry(nil, "poll_interval", "1m"), // longer than poll_max_interval
			Entry(nil, "stack_timeout_mins", "0"),
			Entry(nil, "topic_partitions", "1.5"),
			Entry(nil, "max_body_bytes", "lots"),
			Entry(nil, "max_body_bytes", "-1"),
			Entry(nil, "max_body_bytes", "0"),
			Entry(nil, "max_package_bytes", "0"),
			Entry(nil, "max_package_entries", "0"),
			Entry(nil, "events_topic", ""),
			Entry(nil, "shutdown_timeout", "-5s"),
			Entry(nil, "openstack_timeout", "-1s"),
			Entry(nil, "topic_partitions", "0"),
		)

		It("names the setting of a bad value from the environment", func() {
			_, _, err := load(nil, env{"DRIVER_WORKERS": ""})

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("workers"))
		})

		It("names the setting of a bad value from the file", func() {
			_, _, err := load(nil, env{"DRIVER_CONFIG": writeYAML("log_level: chatty\n")})

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("log_level"))
		})
	})

	Describe("--help", func() {
		It("lists every setting with its flag, environment variable and default", func() {
			_, out, err := load([]string{"--help"}, env{})

			Expect(err).To(MatchError(flag.ErrHelp))
			lines := strings.Split(out, "\n")
			for _, s := range config.Settings() {
				def := s.Default
				if def == "" {
					def = `""`
				}
				Expect(lines).To(ContainElement(And(
					ContainSubstring("--"+s.Flag()+" "),
					ContainSubstring(s.Env()),
					ContainSubstring(def),
				)), "the help's line for %s", s.Name)
				Expect(out).To(ContainSubstring(s.Help))
			}
		})

		It("names the config file's flag and variable", func() {
			_, out, err := load([]string{"-h"}, env{})

			Expect(err).To(MatchError(flag.ErrHelp))
			Expect(out).To(ContainSubstring("--config"))
			Expect(out).To(ContainSubstring("DRIVER_CONFIG"))
		})

		It("shows the documented defaults", func() {
			_, out, _ := load([]string{"--help"}, env{})

			Expect(out).To(ContainSubstring("--listen (env DRIVER_LISTEN, default :8292)"))
			Expect(out).To(ContainSubstring("--max-body-bytes (env DRIVER_MAX_BODY_BYTES, default 100MiB)"))
			Expect(out).To(ContainSubstring("--kafka-brokers (env DRIVER_KAFKA_BROKERS, default \"\")"))
		})
	})
})

var _ = Describe("Reading a size", func() {
	DescribeTable("accepts bytes and binary or decimal units",
		func(text string, want int64) {
			Expect(config.ParseSize(text)).To(Equal(want))
		},
		Entry(nil, "1048576", int64(1048576)),
		Entry(nil, "100MiB", int64(100<<20)),
		Entry(nil, "1GiB", int64(1<<30)),
		Entry(nil, "4KiB", int64(4096)),
		Entry(nil, "20KB", int64(20000)),
		Entry(nil, "2MB", int64(2000000)),
		Entry(nil, "512B", int64(512)),
		Entry(nil, " 10 MiB ", int64(10<<20)),
	)

	DescribeTable("refuses what is not a size, quoting it",
		func(text string) {
			_, err := config.ParseSize(text)

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("%q", text))
		},
		Entry(nil, "1.5MiB"),
		Entry(nil, "-1"),
		Entry(nil, "MiB"),
		Entry(nil, "ten"),
		Entry(nil, "10TB"),
		Entry(nil, "99999999999GiB"),
	)
})

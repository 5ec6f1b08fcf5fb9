package charts_test

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/tnco-drivers/openstack-driver/config"
)

// chartOwned are the driver's settings the chart sets itself; the rest
// are open to the operator under config. The security settings are among
// them: they name files, which only the chart knows (it mounts them from
// the operator's Secrets), and the values that switch them on are tls,
// apiToken, kafka.tls and kafka.sasl.
var chartOwned = []string{"listen", "kafka_brokers", "job_key_file",
	"data_dir", "embedded_kafka_listen",
	"tls_cert_file", "tls_key_file", "tls_client_ca_file",
	"api_token_file", "kafka_tls", "kafka_ca_file", "kafka_cert_file",
	"kafka_key_file", "kafka_sasl_mechanism", "kafka_sasl_username",
	"kafka_sasl_password_file"}

// container gives the driver's container of a rendered Deployment.
func container(m *manifest) map[string]any {
	GinkgoHelper()
	cs, _ := dig(m.one("Deployment"), "spec", "template", "spec",
		"containers").([]any)
	Expect(cs).To(HaveLen(1))
	return cs[0].(map[string]any)
}

// envOf gives a container's environment as name -> value, with the
// valueFrom sources as their YAML text.
func envOf(c map[string]any) map[string]string {
	out := map[string]string{}
	list, _ := c["env"].([]any)
	for _, e := range list {
		e := e.(map[string]any)
		if v, ok := e["value"].(string); ok {
			out[e["name"].(string)] = v
			continue
		}
		text, _ := yaml.Marshal(e["valueFrom"])
		out[e["name"].(string)] = "valueFrom: " + string(text)
	}
	return out
}

// mountPath gives where a container mounts the volume called name.
func mountPath(c map[string]any, name string) string {
	for _, m := range c["volumeMounts"].([]any) {
		m := m.(map[string]any)
		if m["name"] == name {
			return m["mountPath"].(string)
		}
	}
	return ""
}

// volume gives the pod's volume called name.
func volume(m *manifest, name string) map[string]any {
	GinkgoHelper()
	vols, _ := dig(m.one("Deployment"), "spec", "template", "spec",
		"volumes").([]any)
	for _, v := range vols {
		if v := v.(map[string]any); v["name"] == name {
			return v
		}
	}
	Fail("no volume " + name)
	return nil
}

// driverFile gives the driver's YAML configuration file in the ConfigMap.
func driverFile(m *manifest) string {
	GinkgoHelper()
	text, ok := dig(m.one("ConfigMap"), "data", "driver.yaml").(string)
	Expect(ok).To(BeTrue(), "the ConfigMap holds driver.yaml")
	return text
}

// loadDriverFile runs the driver's own configuration loader on the
// ConfigMap's file, with nothing else set, as the driver starts in a pod.
func loadDriverFile(m *manifest) (*config.Config, error) {
	GinkgoHelper()
	file := filepath.Join(GinkgoT().TempDir(), "driver.yaml")
	Expect(os.WriteFile(file, []byte(driverFile(m)), 0o600)).To(Succeed())
	env := map[string]string{"DRIVER_CONFIG": file}
	return config.Load(nil, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}, GinkgoWriter)
}

// settingDefault gives a driver setting's default as YAML would read it
// (a number, a boolean or a string), the way an operator writes it.
func settingDefault(s config.Setting) any {
	var v any
	Expect(yaml.Unmarshal([]byte(s.Default), &v)).To(Succeed())
	if v == nil {
		return ""
	}
	return v
}

// schemaConfigKeys lists the keys values.schema.json allows under config.
func schemaConfigKeys() []string {
	GinkgoHelper()
	var schema struct {
		Properties struct {
			Config struct {
				Properties map[string]any `json:"properties"`
			} `json:"config"`
		} `json:"properties"`
	}
	data, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	Expect(err).NotTo(HaveOccurred())
	Expect(json.Unmarshal(data, &schema)).To(Succeed())
	var keys []string
	for k := range schema.Properties.Config.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var _ = Describe("The openstack-driver chart", func() {

	Context("installed with Kafka brokers and a job-key Secret only", func() {
		var m *manifest

		BeforeEach(func() { m = mustRender(required()) })

		It("creates a Deployment, a Service, a ConfigMap and a "+
			"ServiceAccount, and nothing else", func() {
			Expect(m.kinds()).To(Equal([]string{"ConfigMap", "Deployment",
				"Service", "ServiceAccount"}))
		})

		It("names every object after the release", func() {
			for _, o := range m.objects {
				Expect(o.Name()).To(Equal(fullname), o.Kind())
			}
		})

		It("runs two replicas of the image tagged with the chart's "+
			"appVersion", func() {
			d := m.one("Deployment")
			Expect(dig(d, "spec", "replicas")).To(BeNumerically("==", 2))
			Expect(loadChart().Metadata.AppVersion).NotTo(BeEmpty())
			Expect(container(m)["image"]).To(Equal("openstack-driver:" +
				loadChart().Metadata.AppVersion))
		})

		It("listens on port 8292 and probes liveness on /management/live "+
			"and readiness on /management/ready", func() {
			c := container(m)
			Expect(dig(c, "ports", 0, "containerPort")).To(
				BeNumerically("==", 8292))
			Expect(dig(c, "ports", 0, "name")).To(Equal("http"))
			Expect(dig(c, "livenessProbe", "httpGet", "path")).To(
				Equal("/management/live"))
			Expect(dig(c, "livenessProbe", "httpGet", "port")).To(
				Equal("http"))
			Expect(dig(c, "readinessProbe", "httpGet", "path")).To(
				Equal("/management/ready"))
			Expect(dig(c, "readinessProbe", "httpGet", "port")).To(
				Equal("http"))
			Expect(dig(c, "startupProbe", "httpGet", "path")).To(
				Equal("/management/live"))
			Expect(driverFile(m)).To(ContainSubstring(`listen: :8292`))
		})

		It("gives the readiness probe more time than the driver's own "+
			"3-second look at Kafka", func() {
			Expect(dig(container(m), "readinessProbe",
				"timeoutSeconds")).To(BeNumerically(">", 3))
		})

		It("runs the driver as a non-root user, with a read-only root "+
			"file system, no privilege escalation, no capabilities and "+
			"the RuntimeDefault seccomp profile", func() {
			sc := container(m)["securityContext"]
			Expect(dig(sc, "runAsNonRoot")).To(BeTrue())
			Expect(dig(sc, "readOnlyRootFilesystem")).To(BeTrue())
			Expect(dig(sc, "allowPrivilegeEscalation")).To(BeFalse())
			Expect(dig(sc, "capabilities", "drop")).To(Equal([]any{"ALL"}))
			Expect(dig(sc, "seccompProfile", "type")).To(
				Equal("RuntimeDefault"))
			pod := dig(m.one("Deployment"), "spec", "template", "spec",
				"securityContext")
			Expect(dig(pod, "runAsNonRoot")).To(BeTrue())
			Expect(dig(pod, "runAsUser")).To(BeNumerically(">", 0))
			Expect(dig(pod, "seccompProfile", "type")).To(
				Equal("RuntimeDefault"))
		})

		It("lets the non-root user read the job keys through its group, "+
			"and no one else", func() {
			pod := dig(m.one("Deployment"), "spec", "template", "spec",
				"securityContext")
			Expect(dig(pod, "fsGroup")).To(Equal(dig(pod, "runAsGroup")))
			Expect(dig(volume(m, "job-key"), "secret", "defaultMode")).To(
				BeNumerically("==", 0o440))
		})

		It("points DRIVER_CONFIG at the driver's file from the ConfigMap",
			func() {
				c := container(m)
				file := envOf(c)["DRIVER_CONFIG"]
				Expect(file).NotTo(BeEmpty())
				Expect(path.Dir(file)).To(Equal(mountPath(c, "config")))
				Expect(path.Base(file)).To(Equal("driver.yaml"))
				Expect(dig(volume(m, "config"), "configMap", "name")).To(
					Equal(m.one("ConfigMap").Name()))
			})

		It("points DRIVER_JOB_KEY_FILE at the key mounted from the "+
			"operator's Secret", func() {
			c := container(m)
			file := envOf(c)["DRIVER_JOB_KEY_FILE"]
			Expect(path.Dir(file)).To(Equal(mountPath(c, "job-key")))
			secret := volume(m, "job-key")["secret"]
			Expect(dig(secret, "secretName")).To(Equal("driver-job-keys"))
			Expect(dig(secret, "items", 0, "key")).To(Equal("job-keys"))
			Expect(dig(secret, "items", 0, "path")).To(
				Equal(path.Base(file)))
		})

		It("mounts the key from another key of the Secret when told to",
			func() {
				m := mustRender(with("jobKey: {secretKey: keys.txt}"))
				file := envOf(container(m))["DRIVER_JOB_KEY_FILE"]
				Expect(path.Base(file)).To(Equal("keys.txt"))
				Expect(dig(volume(m, "job-key"), "secret", "items", 0,
					"key")).To(Equal("keys.txt"))
			})

		It("gives DRIVER_DATA_DIR a writable emptyDir, the root file "+
			"system being read-only", func() {
			c := container(m)
			Expect(envOf(c)["DRIVER_DATA_DIR"]).To(
				Equal(mountPath(c, "data")))
			Expect(volume(m, "data")).To(HaveKey("emptyDir"))
			for _, mnt := range c["volumeMounts"].([]any) {
				mnt := mnt.(map[string]any)
				if mnt["name"] == "data" {
					Expect(mnt).NotTo(HaveKeyWithValue("readOnly", true))
				}
			}
		})

		It("writes the brokers and the topics into the driver's "+
			"configuration file", func() {
			var file map[string]any
			Expect(yaml.Unmarshal([]byte(driverFile(m)), &file)).To(
				Succeed())
			Expect(file["kafka_brokers"]).To(Equal([]any{
				"kafka-0.kafka:9092", "kafka-1.kafka:9092"}))
			Expect(file["events_topic"]).To(
				Equal("lm_vnfc_lifecycle_execution_events"))
			Expect(file["jobs_topic"]).To(Equal("openstack_driver_jobs"))
			Expect(file["consumer_group"]).To(Equal("openstack-driver"))
		})

		It("writes a configuration file the driver itself accepts",
			func() {
				c, err := loadDriverFile(m)
				Expect(err).NotTo(HaveOccurred())
				Expect(c.KafkaBrokers).To(Equal([]string{
					"kafka-0.kafka:9092", "kafka-1.kafka:9092"}))
				Expect(c.Listen).To(Equal(":8292"))
			})

		It("sends the Service's port 8292 to the driver's pods", func() {
			svc := m.one("Service")
			Expect(dig(svc, "spec", "ports", 0, "port")).To(
				BeNumerically("==", 8292))
			Expect(dig(svc, "spec", "ports", 0, "targetPort")).To(
				Equal("http"))
			labels := dig(m.one("Deployment"), "spec", "template",
				"metadata", "labels").(map[string]any)
			selector := dig(svc, "spec", "selector").(map[string]any)
			Expect(selector).NotTo(BeEmpty())
			for k, v := range selector {
				Expect(labels).To(HaveKeyWithValue(k, v))
			}
		})

		It("mounts no Kubernetes API token: the driver never calls the "+
			"API", func() {
			Expect(dig(m.one("Deployment"), "spec", "template", "spec",
				"automountServiceAccountToken")).To(BeFalse())
			Expect(dig(m.one("ServiceAccount"),
				"automountServiceAccountToken")).To(BeFalse())
		})

		It("caps Go's heap near the container's memory limit", func() {
			Expect(envOf(container(m))["GOMEMLIMIT"]).To(
				ContainSubstring("limits.memory"))
			m := mustRender(with("resources: {limits: null}"))
			Expect(envOf(container(m))).NotTo(HaveKey("GOMEMLIMIT"))
		})

		It("gives the driver its whole shutdown time after SIGTERM before "+
			"Kubernetes kills it", func() {
			var shutdown time.Duration
			for _, s := range config.Settings() {
				if s.Name == "shutdown_timeout" {
					var err error
					shutdown, err = time.ParseDuration(s.Default)
					Expect(err).NotTo(HaveOccurred())
				}
			}
			Expect(shutdown).To(BeNumerically(">", 0))
			grace := dig(m.one("Deployment"), "spec", "template", "spec",
				"terminationGracePeriodSeconds")
			// The job queue takes up to 10 seconds more to hand its
			// partitions over once in-flight work has stopped.
			Expect(grace).To(BeNumerically(">=",
				(shutdown + 10*time.Second).Seconds()))
		})

		It("restarts the pods when the driver's configuration changes",
			func() {
				sum := func(m *manifest) any {
					return dig(m.one("Deployment"), "spec", "template",
						"metadata", "annotations", "checksum/config")
				}
				Expect(sum(m)).NotTo(BeEmpty())
				Expect(sum(mustRender(with("config: {log_level: debug}")))).
					NotTo(Equal(sum(m)))
			})

		It("keeps a ready replica while a new version rolls out", func() {
			Expect(dig(m.one("Deployment"), "spec", "strategy",
				"rollingUpdate", "maxUnavailable")).To(
				BeNumerically("==", 0))
		})

		It("tells the operator the URL, driver type and infrastructure "+
			"type to register in Brent", func() {
			Expect(m.notes).To(ContainSubstring(
				"http://driver-openstack-driver.tnco.svc.cluster.local:8292"))
			Expect(m.notes).To(MatchRegexp(`driver type:\s+openstack\n`))
			Expect(m.notes).To(MatchRegexp(
				`infrastructure type:\s+Openstack\n`))
		})

		It("renders objects whose every field Kubernetes knows", func() {
			strict := func(kind string, into any) {
				GinkgoHelper()
				Expect(yaml.UnmarshalStrict([]byte(m.rawOf(kind)),
					into)).To(Succeed(), kind)
			}
			strict("Deployment", &appsv1.Deployment{})
			strict("Service", &corev1.Service{})
			strict("ConfigMap", &corev1.ConfigMap{})
			strict("ServiceAccount", &corev1.ServiceAccount{})
		})

		It("passes helm lint", func() {
			kube, err := common.ParseKubeVersion("v1.30.0")
			Expect(err).NotTo(HaveOccurred())
			res := lint.RunAll(chartDir, required(), namespace,
				lint.WithKubeVersion(kube))
			for _, msg := range res.Messages {
				if msg.Severity >= support.WarningSev {
					Fail(msg.Error())
				}
			}
		})
	})

	Context("when a value the driver cannot run without is missing",
		func() {
			DescribeTable("stops the install and says what to set",
				func(values map[string]any, want string) {
					_, err := render(values)
					Expect(err).To(MatchError(ContainSubstring(want)))
				},
				Entry("no values at all", map[string]any{},
					"kafka.brokers is empty"),
				Entry("no Kafka brokers", map[string]any{
					"jobKey": map[string]any{"existingSecret": "keys"}},
					"kafka.brokers is empty"),
				Entry("an empty list of brokers", map[string]any{
					"kafka":  map[string]any{"brokers": []any{}},
					"jobKey": map[string]any{"existingSecret": "keys"}},
					"kafka.brokers is empty"),
				Entry("no Secret with the job-queue keys", map[string]any{
					"kafka": map[string]any{"brokers": []any{"k:9092"}}},
					"jobKey.existingSecret is empty"),
			)

			It("explains why the embedded broker is not an option", func() {
				_, err := render(map[string]any{})
				Expect(err).To(MatchError(ContainSubstring(
					"only for trying the driver")))
			})

			It("refuses a broker that is an empty string", func() {
				_, err := render(with(`kafka: {brokers: [""]}`))
				Expect(err).To(HaveOccurred())
			})
		})

	Context("with each optional part switched on", func() {
		DescribeTable("adds that part's object to the four of every install",
			func(values, kind string) {
				kinds := mustRender(with(values)).kinds()
				Expect(kinds).To(ContainElement(kind))
				Expect(kinds).To(HaveLen(5))
			},
			Entry("autoscaling", "autoscaling: {enabled: true}",
				"HorizontalPodAutoscaler"),
			Entry("a disruption budget",
				"podDisruptionBudget: {enabled: true}",
				"PodDisruptionBudget"),
			Entry("a Prometheus ServiceMonitor",
				"serviceMonitor: {enabled: true}", "ServiceMonitor"),
			Entry("a network policy", "networkPolicy: {enabled: true}",
				"NetworkPolicy"),
		)

		var m *manifest

		BeforeEach(func() {
			m = mustRender(with(`
autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 9}
podDisruptionBudget: {enabled: true}
serviceMonitor: {enabled: true, labels: {release: prometheus}}
networkPolicy:
  enabled: true
  ingressFrom:
    - podSelector: {matchLabels: {app: brent}}
  egress:
    - ports: [{port: 9092}]
`))
		})

		It("renders all of them together", func() {
			Expect(m.kinds()).To(Equal([]string{"ConfigMap", "Deployment",
				"HorizontalPodAutoscaler", "NetworkPolicy",
				"PodDisruptionBudget", "Service", "ServiceAccount",
				"ServiceMonitor"}))
		})

		It("leaves the replica count to the autoscaler", func() {
			Expect(m.one("Deployment")["spec"]).NotTo(HaveKey("replicas"))
			hpa := m.one("HorizontalPodAutoscaler")
			Expect(dig(hpa, "spec", "scaleTargetRef", "kind")).To(
				Equal("Deployment"))
			Expect(dig(hpa, "spec", "scaleTargetRef", "name")).To(
				Equal(fullname))
			Expect(dig(hpa, "spec", "minReplicas")).To(
				BeNumerically("==", 3))
			Expect(dig(hpa, "spec", "maxReplicas")).To(
				BeNumerically("==", 9))
		})

		It("lets node drains take one pod at a time", func() {
			pdb := m.one("PodDisruptionBudget")
			Expect(dig(pdb, "spec", "maxUnavailable")).To(
				BeNumerically("==", 1))
			Expect(dig(pdb, "spec", "selector", "matchLabels")).To(
				Equal(dig(m.one("Service"), "spec", "selector")))
		})

		It("scrapes /metrics on the API port with the labels Prometheus "+
			"selects", func() {
			sm := m.one("ServiceMonitor")
			Expect(sm["apiVersion"]).To(Equal("monitoring.coreos.com/v1"))
			Expect(dig(sm, "spec", "endpoints", 0, "path")).To(
				Equal("/metrics"))
			Expect(dig(sm, "spec", "endpoints", 0, "port")).To(
				Equal("http"))
			Expect(dig(sm, "metadata", "labels", "release")).To(
				Equal("prometheus"))
			Expect(m.notes).To(ContainSubstring("scrapes /metrics"))
		})

		It("opens only the API port, to the peers given, and limits "+
			"egress to the rules given", func() {
			np := m.one("NetworkPolicy")
			Expect(dig(np, "spec", "policyTypes")).To(Equal([]any{
				"Ingress", "Egress"}))
			Expect(dig(np, "spec", "ingress", 0, "ports", 0, "port")).To(
				Equal("http"))
			Expect(dig(np, "spec", "ingress", 0, "from", 0, "podSelector",
				"matchLabels", "app")).To(Equal("brent"))
			Expect(dig(np, "spec", "egress", 0, "ports", 0, "port")).To(
				BeNumerically("==", 9092))
		})

		It("leaves egress open when no egress rule is given", func() {
			np := mustRender(with("networkPolicy: {enabled: true}")).
				one("NetworkPolicy")
			Expect(dig(np, "spec", "policyTypes")).To(Equal([]any{
				"Ingress"}))
			Expect(dig(np, "spec", "ingress", 0)).NotTo(HaveKey("from"))
		})

		It("renders objects whose every field Kubernetes knows", func() {
			for kind, into := range map[string]any{
				"Deployment":              &appsv1.Deployment{},
				"HorizontalPodAutoscaler": &autoscalingv2.HorizontalPodAutoscaler{},
				"PodDisruptionBudget":     &policyv1.PodDisruptionBudget{},
				"NetworkPolicy":           &networkingv1.NetworkPolicy{},
			} {
				Expect(yaml.UnmarshalStrict([]byte(m.rawOf(kind)),
					into)).To(Succeed(), kind)
			}
		})
	})

	Context("settings of the driver", func() {
		It("offers under config every setting of the driver that the "+
			"chart does not set itself, and nothing else", func() {
			var want []string
			for _, s := range config.Settings() {
				if !slices.Contains(chartOwned, s.Name) {
					want = append(want, s.Name)
				}
			}
			slices.Sort(want)
			Expect(schemaConfigKeys()).To(Equal(want))
		})

		It("accepts each of those settings at its default, and the "+
			"driver reads them back", func() {
			values := map[string]any{}
			for _, s := range config.Settings() {
				if !slices.Contains(chartOwned, s.Name) {
					values[s.Name] = settingDefault(s)
				}
			}
			got, err := loadDriverFile(mustRender(withConfig(values)))
			Expect(err).NotTo(HaveOccurred())
			defaults, err := config.Load(nil, func(string) (string, bool) {
				return "", false
			}, GinkgoWriter)
			Expect(err).NotTo(HaveOccurred())
			defaults.KafkaBrokers = got.KafkaBrokers
			Expect(got).To(Equal(defaults))
		})

		It("passes values that are not defaults on to the driver", func() {
			got, err := loadDriverFile(mustRender(with(`
config:
  log_level: debug
  poll_interval: 2s
  workers: 4
  create_topics: false
  max_body_bytes: 10MiB
  adoptable_states: [CREATE_COMPLETE, UPDATE_COMPLETE]
`)))
			Expect(err).NotTo(HaveOccurred())
			Expect(got.LogLevel).To(Equal("debug"))
			Expect(got.PollInterval).To(Equal(2 * time.Second))
			Expect(got.Workers).To(Equal(4))
			Expect(got.CreateTopics).To(BeFalse())
			Expect(got.MaxBodyBytes).To(BeNumerically("==", 10<<20))
			Expect(got.AdoptableStates).To(Equal([]string{
				"CREATE_COMPLETE", "UPDATE_COMPLETE"}))
		})

		It("shows the driver's own defaults in values.yaml", func() {
			byName := map[string]config.Setting{}
			for _, s := range config.Settings() {
				byName[s.Name] = s
			}
			cfg, _ := loadChart().Values["config"].(map[string]any)
			Expect(cfg).NotTo(BeEmpty())
			for name, v := range cfg {
				s, ok := byName[name]
				Expect(ok).To(BeTrue(), "%s is a driver setting", name)
				Expect(v).To(BeEquivalentTo(settingDefault(s)), name)
			}
		})

		DescribeTable("refuses a config key the chart does not offer",
			func(key string) {
				_, err := render(with("config: {" + key + ": x}"))
				Expect(err).To(MatchError(ContainSubstring(key)))
			},
			Entry("a misspelt setting", "poll_intervall"),
			Entry("the listen address, fixed at :8292", "listen"),
			Entry("the brokers, set by kafka.brokers", "kafka_brokers"),
			Entry("the key file, set from jobKey", "job_key_file"),
			Entry("the data folder, an emptyDir", "data_dir"),
			Entry("the HTTPS certificate, set from tls", "tls_cert_file"),
			Entry("the HTTPS key, set from tls", "tls_key_file"),
			Entry("the client CA, set from tls.clientCA",
				"tls_client_ca_file"),
			Entry("the token file, set from apiToken", "api_token_file"),
			Entry("Kafka TLS, set from kafka.tls", "kafka_tls"),
			Entry("the brokers' CA, set from kafka.tls", "kafka_ca_file"),
			Entry("the Kafka client certificate, set from kafka.tls",
				"kafka_cert_file"),
			Entry("the Kafka client key, set from kafka.tls",
				"kafka_key_file"),
			Entry("the SASL mechanism, set from kafka.sasl",
				"kafka_sasl_mechanism"),
			Entry("the SASL user, set from kafka.sasl",
				"kafka_sasl_username"),
			Entry("the SASL password file, set from kafka.sasl",
				"kafka_sasl_password_file"),
		)

		It("refuses a setting of the wrong type before anything is "+
			"installed", func() {
			_, err := render(with("config: {workers: many}"))
			Expect(err).To(MatchError(ContainSubstring("workers")))
			_, err = render(with("config: {poll_interval: soon}"))
			Expect(err).To(MatchError(ContainSubstring("poll_interval")))
		})
	})

	Context("secrets", func() {
		It("creates no Secret: it only refers to the one the operator "+
			"made", func() {
			m := mustRender(with(`
autoscaling: {enabled: true}
podDisruptionBudget: {enabled: true}
serviceMonitor: {enabled: true}
networkPolicy: {enabled: true}
`))
			Expect(m.kinds()).NotTo(ContainElement("Secret"))
		})

		It("passes no secret in the environment: the keys arrive as a "+
			"file", func() {
			for name, value := range envOf(container(mustRender(
				required()))) {
				Expect(value).NotTo(ContainSubstring("secretKeyRef"), name)
			}
		})

		DescribeTable("refuses a secret put where the chart has no place "+
			"for it, rather than writing it into an object",
			func(valuesYAML string) {
				const secret = "s3cr3t-Pa55w0rd"
				values := with(strings.ReplaceAll(valuesYAML, "SECRET",
					secret))
				files, err := render(values)
				Expect(err).To(MatchError(ContainSubstring(
					"additional properties")))
				Expect(files).To(BeEmpty())
			},
			Entry("a password at the top", "password: SECRET"),
			Entry("Kafka SASL credentials",
				"kafka: {username: driver, password: SECRET}"),
			Entry("Kafka TLS key", "kafka: {tls: {key: SECRET}}"),
			Entry("the job key itself instead of a Secret's name",
				"jobKey: {key: SECRET}"),
			Entry("a deployment location password in the config",
				"config: {os_auth_password: SECRET}"),
			Entry("an extra environment variable",
				"env: [{name: DRIVER_JOB_KEY, value: SECRET}]"),
			Entry("API TLS material", "tls: {key: SECRET}"),
		)
	})
})

// withConfig gives required() with the config values given.
func withConfig(cfg map[string]any) map[string]any {
	values := required()
	values["config"] = cfg
	return values
}

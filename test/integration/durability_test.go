package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// postAll sends the requests to a driver, a few at a time, and gives the
// request ids of those it accepted.
func postAll(driverURL string, reqs []map[string]any) []string {
	ids := make([]string, len(reqs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, r := range reqs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			a := postTo(driverURL, executePath, r)
			if a.Status == 202 {
				ids[i] = a.Body["requestId"].(string)
			}
		})
	}
	wg.Wait()
	return ids
}

func postTo(base, path string, body any) answer {
	data, err := json.Marshal(body)
	Expect(err).NotTo(HaveOccurred())
	return postURL(base+path, data)
}

func slowCreates(n, secs int) []map[string]any {
	reqs := make([]map[string]any, n)
	files := zipPackage("testdata/packages/slow")
	for i := range reqs {
		reqs[i] = newResource(fmt.Sprintf("durable-%d", i)).create(files,
			noauthLocation(), map[string]any{"secs": secs})
	}
	return reqs
}

var _ = Describe("Durability", Serial, func() {
	It("publishes a final message for each of 50 accepted Creates when "+
		"the driver is killed with SIGKILL and started again", func() {
		d, err := env.startDriverProc("kill-restart",
			"DRIVER_CONSUMER_GROUP=durable-1",
			"DRIVER_JOBS_TOPIC=durable_jobs_1")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = d.term() })

		ids := postAll(d.url, slowCreates(50, 8))
		Expect(ids).NotTo(ContainElement(""), d.logText())
		d.kill()
		Expect(d.restart(env.binary())).To(Succeed())

		finals := map[string]string{}
		for _, id := range ids {
			ev, err := env.events.final(id, 3*time.Minute)
			Expect(err).NotTo(HaveOccurred(), d.logText())
			finals[id] = ev.Message.Status
		}
		Expect(finals).To(HaveLen(50))
		for id, status := range finals {
			Expect(status).To(Equal("COMPLETE"), id)
		}
	})

	It("lets a second driver in the group finish every request of one "+
		"that was killed", func() {
		group := []string{"DRIVER_CONSUMER_GROUP=durable-2",
			"DRIVER_JOBS_TOPIC=durable_jobs_2"}
		first, err := env.startDriverProc("first", group...)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = first.term() })
		second, err := env.startDriverProc("second", group...)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = second.term() })

		ids := postAll(first.url, slowCreates(20, 8))
		Expect(ids).NotTo(ContainElement(""), first.logText())
		first.kill()
		for _, id := range ids {
			ev, err := env.events.final(id, 3*time.Minute)
			Expect(err).NotTo(HaveOccurred(), second.logText())
			Expect(ev.Message.Status).To(Equal("COMPLETE"))
		}
	})

	It("answers 503 without touching Heat while Kafka is down", func() {
		broker, err := kfake.NewCluster(kfake.NumBrokers(1),
			kfake.Ports(freePort()))
		Expect(err).NotTo(HaveOccurred())
		port := freePort()
		d := &driverProc{name: "no-kafka",
			url: fmt.Sprintf("http://127.0.0.1:%d", port)}
		d.env = append(env.driverEnv(port), "DRIVER_KAFKA_BROKERS="+
			strings.Join(broker.ListenAddrs(), ","))
		Expect(d.start(env.binary())).To(Succeed())
		DeferCleanup(func() { _ = d.term() })

		broker.Close()
		r := newResource("while-kafka-is-down")
		a := postTo(d.url, executePath, r.create(zipPackage(helloPackage),
			noauthLocation(), nil))
		Expect(a.Status).To(Equal(503), a.Text)
		Expect(a.Body["localizedMessage"]).To(ContainSubstring("Kafka"))
		code, _ := env.heatGet("/stacks/whilekafkaisdown." + r.id)
		Expect(code).To(Equal(404), "no stack was created")
	})

	It("ends in one final message a Create whose driver died between "+
		"recording it and hearing Heat's answer", func() {
		// Heat's answer to the stack create reaches the driver only
		// after a long pause; the driver is killed during it.
		target, _ := url.Parse(strings.TrimSuffix(env.heatURL, "/v1/admin"))
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ModifyResponse = func(resp *http.Response) error {
			if resp.Request.Method == http.MethodPost {
				time.Sleep(6 * time.Second)
			}
			return nil
		}
		slowHeat := httptest.NewServer(proxy)
		DeferCleanup(slowHeat.Close)
		loc := noauthLocation()
		loc["properties"].(map[string]any)["os_api_url"] =
			slowHeat.URL + "/v1/admin"

		d, err := env.startDriverProc("crash-mid-create",
			"DRIVER_CONSUMER_GROUP=durable-3",
			"DRIVER_JOBS_TOPIC=durable_jobs_3")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = d.term() })

		r := newResource("crash-mid-create")
		go func() {
			defer GinkgoRecover()
			postTo(d.url, executePath, r.create(zipPackage(helloPackage),
				loc, nil))
		}()
		var stackID string
		Eventually(func() int {
			code, body := env.heatGet("/stacks/crash-mid-create." + r.id)
			if code == 200 {
				stackID = body["stack"].(map[string]any)["id"].(string)
			}
			return code
		}, "20s", "100ms").Should(Equal(200))
		d.kill()
		Expect(d.restart(env.binary())).To(Succeed())

		ev, err := env.events.finalForStack(stackID, 2*time.Minute)
		Expect(err).NotTo(HaveOccurred(), d.logText())
		Expect(ev.Message.Status).To(Equal("COMPLETE"))
		Expect(ev.Message.Outputs).To(HaveKey("random"))
		Consistently(func() int {
			return len(env.events.ofStack(stackID))
		}, "3s", "500ms").Should(Equal(1), "one final message")
	})

	It("keeps passwords and private keys out of the job records on "+
		"Kafka", func() {
		const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
			"ZZ-recognisable-private-key-ZZ\n-----END OPENSSH PRIVATE KEY-----\n"
		r := newResource("secret-keeper")
		reqID, _ := accepted(env.post(executePath, r.create(
			zipPackage(helloPackage), keystoneLocation(demoPassword),
			map[string]any{"mgmt_key": map[string]any{"type": "key",
				"keyName": "k1", "publicKey": "ssh-ed25519 AAAA k1",
				"privateKey": privateKey}})))
		Expect(finalOf(reqID).Message.Status).To(Equal("COMPLETE"))

		raw := readTopic("openstack_driver_jobs")
		Expect(raw).NotTo(BeEmpty())
		found := false
		for _, rec := range raw {
			if string(rec.Key) == reqID {
				found = true
			}
			Expect(string(rec.Value)).NotTo(ContainSubstring(demoPassword))
			Expect(string(rec.Value)).NotTo(ContainSubstring(
				"recognisable-private-key"))
			Expect(string(rec.Value)).NotTo(ContainSubstring("os_auth"))
		}
		Expect(found).To(BeTrue(), "the request's job record was read")
	})
})

// readTopic reads every record of a topic as it is on the broker.
func readTopic(topic string) []*kgo.Record {
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	Expect(err).NotTo(HaveOccurred())
	defer cl.Close()
	var out []*kgo.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(),
			2*time.Second)
		fetches := cl.PollFetches(ctx)
		cancel()
		n := 0
		fetches.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			n++
		})
		if n == 0 {
			return out
		}
	}
}

package simcloud_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/calls"
	"github.com/tnco-drivers/openstack-driver/bench/simcloud"
	"github.com/tnco-drivers/openstack-driver/heat"
)

// The driver's own Heat client must find its way through the simulated
// Keystone's catalog and read the simulated Heat's answers.
func TestDriverClientAgainstSimcloud(t *testing.T) {
	cloud, err := simcloud.Start(simcloud.Config{Username: "demo",
		Password: "demopass", CreateTime: simcloud.Fixed(300 * time.Millisecond),
		DeleteTime: simcloud.Fixed(200 * time.Millisecond),
		TokenTTL:   time.Second}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	loc, err := heat.ParseLocation("sim", map[string]any{
		"os_api_url": cloud.URL(), "os_auth_api": "v3",
		"os_auth_username": "demo", "os_auth_password": "demopass",
		"os_auth_user_domain_name": "Default",
		"os_auth_project_name":     "admin", "os_auth_project_domain_name": "Default",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := heat.NewClients(heat.Options{}).Cloud(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CreateStack(ctx, heat.CreateInput{Name: "s1",
		Template: "heat_template_version: 2018-08-31\noutputs:\n  a:\n" +
			"    value: 1\n", Tags: []string{"t1", "t2"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateStack(ctx, heat.CreateInput{Name: "s1",
		Template: "heat_template_version: 2018-08-31\n"}); err == nil {
		t.Fatal("a second stack of the same name was accepted")
	}
	s, err := c.FindStack(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != id || s.Status != "CREATE_IN_PROGRESS" || !s.HasTag("t2") {
		t.Fatalf("found %+v", s)
	}
	res, err := c.Resources(ctx, "s1", id, 0)
	if err != nil || len(res) != 3 {
		t.Fatalf("resources %v, %v", res, err)
	}

	// The token expires meanwhile: the client logs in again by itself.
	time.Sleep(1100 * time.Millisecond)
	s, err = c.GetStack(ctx, "", id)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != "CREATE_COMPLETE" || s.Outputs["a"] != "a-"+id[:8] {
		t.Fatalf("after its create time: %+v", s)
	}
	info, _ := cloud.Stack(id)
	if info.CompleteAt.Sub(info.Created) != 300*time.Millisecond {
		t.Fatalf("complete at %v, created %v", info.CompleteAt,
			info.Created)
	}

	if err := c.DeleteStack(ctx, s.Name, id); err != nil {
		t.Fatal(err)
	}
	s, _ = c.GetStack(ctx, s.Name, id)
	if s.Status != "DELETE_IN_PROGRESS" {
		t.Fatalf("after delete: %s", s.Status)
	}
	time.Sleep(250 * time.Millisecond)
	s, _ = c.GetStack(ctx, s.Name, id)
	if s.Status != "DELETE_COMPLETE" {
		t.Fatalf("after the delete time: %s", s.Status)
	}
	if _, err := c.FindStack(ctx, "s1"); !heat.IsNotFound(err) {
		t.Fatalf("a deleted stack found by name: %v", err)
	}

	got := cloud.Calls()
	want := calls.Counts{calls.TokenCreate: 2, calls.StackCreate: 2,
		calls.StackLookup: 4, calls.StackGet: 4, calls.Resources: 1,
		calls.StackDelete: 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d calls, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if n := cloud.Unauthorized()[calls.StackLookup]; n != 1 {
		t.Errorf("401 answers to lookups: %d, want 1", n)
	}
}

func TestListFilters(t *testing.T) {
	cloud, err := simcloud.Start(simcloud.Config{NoAuth: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	loc, _ := heat.ParseLocation("sim", map[string]any{
		"os_api_url": cloud.HeatURL(), "os_auth_enabled": "false"})
	ctx := context.Background()
	c, err := heat.NewClients(heat.Options{}).Cloud(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x1", "x2"} {
		if _, err := c.CreateStack(ctx, heat.CreateInput{Name: n,
			Template: "heat_template_version: 2018-08-31\n",
			Tags:     []string{"tag-" + n}}); err != nil {
			t.Fatal(err)
		}
	}
	var out struct {
		Stacks []map[string]any `json:"stacks"`
	}
	orch := c.Orchestration()
	_, err = orch.Get(ctx, orch.ServiceURL("stacks")+"?tags=tag-x2", &out,
		nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Stacks) != 1 || out.Stacks[0]["stack_name"] != "x2" {
		t.Fatalf("list by tag: %v", out.Stacks)
	}
	list := func(query string) []string {
		var out struct {
			Stacks []struct {
				Name string `json:"stack_name"`
			} `json:"stacks"`
		}
		resp, err := http.Get(cloud.HeatURL() + "/stacks?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("list %s: %v", query, err)
		}
		var names []string
		for _, s := range out.Stacks {
			names = append(names, s.Name)
		}
		return names
	}
	if got := list("name=x1"); !slices.Equal(got, []string{"x1"}) {
		t.Fatalf("list by name: %v", got)
	}
	// Newest first, a page at a time.
	if got := list("limit=1"); !slices.Equal(got, []string{"x2"}) {
		t.Fatalf("first page: %v", got)
	}
	x2, _ := c.FindStack(ctx, "x2")
	if got := list("limit=1&marker=" + x2.ID); !slices.Equal(got,
		[]string{"x1"}) {
		t.Fatalf("second page: %v", got)
	}
}

package lifecycle

import (
	"context"
	"sync"
	"time"

	"github.com/tnco-drivers/openstack-driver/heat"
)

// statusBoard answers "what is this stack's status?" for many requests at
// once: one list call per deployment location, shared by every request
// whose look falls due while the list is fresh. Only stacks the driver
// created (and so tagged) are listed; a request whose stack is not on the
// board is looked at on its own.
type statusBoard struct {
	fresh time.Duration

	mu     sync.Mutex
	boards map[string]*board
}

type board struct {
	mu      sync.Mutex
	fetched time.Time
	status  map[string]string
	err     error
}

func newStatusBoard(fresh time.Duration) *statusBoard {
	return &statusBoard{fresh: fresh, boards: map[string]*board{}}
}

// status gives the listed status of a stack, and whether it was listed.
// Concurrent callers for one location wait for a single list call.
func (sb *statusBoard) status(ctx context.Context, cloud *heat.Cloud,
	location, stackID string) (string, bool, error) {
	sb.mu.Lock()
	b := sb.boards[location]
	if b == nil {
		b = &board{}
		sb.boards[location] = b
	}
	sb.mu.Unlock()

	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.fetched) > sb.fresh {
		b.status, b.err = cloud.ListStatuses(ctx, []string{DriverTag})
		b.fetched = time.Now()
	}
	if b.err != nil {
		return "", false, b.err
	}
	st, ok := b.status[stackID]
	return st, ok, nil
}

package lifecycle

import "sync"

// createLedger lets the poller of the replica that creates a stack learn
// its id without asking Heat: a Create's job is recorded before Heat's
// answer, so its first looks would otherwise ask Heat for a stack by name
// while Heat is still creating it. Another replica that takes the job over
// finds the stack by name instead.
type createLedger struct {
	mu sync.Mutex
	// ids maps a request id to its stack id, "" while Heat is asked.
	ids map[string]string
}

func (l *createLedger) begin(requestID string) {
	l.mu.Lock()
	l.ids[requestID] = ""
	l.mu.Unlock()
}

// end records Heat's answer: the stack id, or "" when there is none, and
// then the entry is for the poller only when there is an id.
func (l *createLedger) end(requestID, stackID string) {
	l.mu.Lock()
	if stackID == "" {
		delete(l.ids, requestID)
	} else {
		l.ids[requestID] = stackID
	}
	l.mu.Unlock()
}

// take gives what this replica knows of the request's create: the stack
// id (and forgets it), or that Heat is still being asked.
func (l *createLedger) take(requestID string) (stackID string,
	asking bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id, ok := l.ids[requestID]
	if !ok {
		return "", false
	}
	if id == "" {
		return "", true
	}
	delete(l.ids, requestID)
	return id, false
}

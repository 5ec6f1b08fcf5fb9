package heat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
)

// APIError is an answer from an OpenStack service that was not a success.
// It keeps the status and the service's own message for classification.
type APIError struct {
	// Service is "Keystone", "Heat" or "Neutron".
	Service string
	// Op says what was asked, e.g. "create stack web.1234".
	Op string
	// Status is the HTTP status code.
	Status int
	// Message is the service's own explanation, when it gave one.
	Message string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Service, e.Op, e.Status, msg)
}

// UnreachableError is a service that could not be reached at all.
type UnreachableError struct {
	Service string
	// Address is the host and port that did not answer.
	Address string
	Err     error
}

func (e *UnreachableError) Error() string {
	if e.Address == "" {
		return fmt.Sprintf("%s gave no usable answer: %v", e.Service, e.Err)
	}
	return fmt.Sprintf("%s at %s cannot be reached: %v", e.Service,
		e.Address, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ErrNoEndpoint is a catalog without the service the driver needs.
var ErrNoEndpoint = errors.New("no endpoint in the service catalog")

// StatusOf gives the HTTP status of an OpenStack error, or 0.
func StatusOf(err error) int {
	var api *APIError
	if errors.As(err, &api) {
		return api.Status
	}
	return 0
}

// IsNotFound reports whether err is OpenStack's 404.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsUnavailable reports whether the service could not be reached, timed
// out, gave no readable answer, failed on its side (5xx) or asked to be
// called less often (429): a condition worth retrying.
func IsUnavailable(err error) bool {
	var unreachable *UnreachableError
	if errors.As(err, &unreachable) {
		return true
	}
	status := StatusOf(err)
	return status >= 500 || status == http.StatusTooManyRequests
}

// WrapError turns what gophercloud returns into an APIError or an
// UnreachableError, so that callers never branch on gophercloud's types.
// Packages that call gophercloud themselves pass their errors through it.
func WrapError(service, op string, err error) error {
	return wrap(service, op, err)
}

func wrap(service, op string, err error) error {
	if err == nil {
		return nil
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return &APIError{Service: service, Op: op, Status: code.Actual,
			Message: messageOf(code.Body)}
	}
	var urlErr *url.Error
	var netErr net.Error
	if errors.As(err, &urlErr) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) {
		addr := ""
		if urlErr != nil {
			if u, perr := url.Parse(urlErr.URL); perr == nil {
				addr = u.Host
			}
		}
		return &UnreachableError{Service: service, Address: addr,
			Err: cause(err)}
	}
	// Anything else came after the request was sent: an answer cut
	// short, or one that is not JSON. What the service did is unknown,
	// which is to be treated like no answer at all.
	return &UnreachableError{Service: service, Address: "",
		Err: fmt.Errorf("%s: the answer could not be read: %w", op, err)}
}

// cause strips url.Error's repetition of the method and address.
func cause(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// messageOf digs the human message out of an OpenStack error body. Heat
// answers {"explanation", "error": {"message", "type"}}, Keystone
// {"error": {"message"}}, Neutron {"NeutronError": {"message"}}.
func messageOf(body []byte) string {
	var doc struct {
		Explanation string `json:"explanation"`
		Error       struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
		Neutron struct {
			Message string `json:"message"`
		} `json:"NeutronError"`
		Title string `json:"title"`
	}
	if json.Unmarshal(body, &doc) != nil {
		text := strings.TrimSpace(string(body))
		if len(text) > 500 {
			text = text[:500]
		}
		return text
	}
	switch {
	case doc.Error.Message != "":
		return firstLines(doc.Error.Message)
	case doc.Neutron.Message != "":
		return doc.Neutron.Message
	case doc.Explanation != "":
		return doc.Explanation
	}
	return doc.Title
}

// firstLines drops a Python traceback that Heat appends in debug mode.
func firstLines(msg string) string {
	if i := strings.Index(msg, "\nTraceback"); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

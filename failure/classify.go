package failure

import (
	"regexp"
	"strings"
)

// patterns is a group of case-insensitive regular expressions; a text
// matches the group when it matches any of them.
type patterns []*regexp.Regexp

// anyOf compiles each alternative on its own: many small expressions run
// much faster on a long text than one large alternation.
func anyOf(alternatives ...string) patterns {
	group := make(patterns, len(alternatives))
	for i, a := range alternatives {
		group[i] = regexp.MustCompile("(?i)" + a)
	}
	return group
}

// MatchString reports whether s matches any pattern of the group.
func (p patterns) MatchString(s string) bool {
	for _, re := range p {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// rule ties one group of patterns to the code it stands for. The rules
// are tried in order and the first match wins.
type rule struct {
	code Code
	re   patterns
}

// notCapacity holds Heat texts that say "limit exceeded" (or "rate limit")
// about something that is not room in the cloud: a template too large, a
// nesting too deep, an API that throttles. Tried before the quota rule.
var notCapacity = anyOf(
	`exceeds maximum allowed size`,
	`recursion depth exceeds`,
	`\brate[ -]?limit`,
)

// quota holds the quota and limit texts of Nova, Neutron, Cinder, Glance
// and Heat's own per-project limits.
var quota = anyOf(
	`quota exceeded`,
	`exceed(?:s|ed)? (?:for |the )?quota`,
	`exceeds? (?:the )?allowed\b[^.]{0,40}\bquota`,
	`over[ _-]?quota`,
	`overlimit|\bover[ _-]limit\b`,
	`limit[ _-]?exceeded`,
	`maximum number of\b[^.]{1,60}?\bexceed`,
	`maximum allowed limit`,
	`maximum stacks per (?:tenant|project)`,
	`maximum resources per stack`,
)

// noRoom holds the texts that say the cloud has no place for the request:
// no host, no storage backend, no address, no free network segment.
var noRoom = anyOf(
	`no ?valid ?host`,
	`no ?valid ?backend`,
	`not enough hosts`,
	`exhausted all hosts`,
	`exceeded max(?:imum)? scheduling attempts`,
	`insufficient compute resources`,
	`not enough (?:free )?(?:memory|ram|disk|space|p?cpus?|vcpus?|`+
		`resources|capacity|(?:ip )?addresses)\b`,
	`insufficient (?:free )?(?:memory|ram|disk|space|capacity|`+
		`resources|p?cpus?|vcpus?)\b`,
	`no more (?:fixed |floating )?ip(?:v[46])? addresses`,
	`no (?:fixed|floating) ip addresses available`,
	`zero (?:fixed|floating) ips? available`,
	`no (?:project|tenant) network is available`,
	`no available network found in maximum allowed attempts`,
)

// missingCapability holds "not found" texts that are about the cloud or
// the template rather than about a thing the stack refers to: a service
// endpoint missing from the catalog, a resource type or Neutron extension
// the cloud lacks, a nested template that cannot be fetched.
var missingCapability = anyOf(
	`could not find requested endpoint`,
	`endpoint for \S+ service\b[^.]{0,80}\bnot found`,
	`resource type\s*\([^)]*\)\s*could not be found`,
	`neutron extension\s*\([^)]*\)\s*could not be found`,
	`could not fetch remote template`,
	`failed to retrieve template`,
)

// notFound holds the texts that say a thing is missing: Heat's "could not
// be found" and constraint texts, Nova/Neutron/Cinder NotFound texts and
// class names, openstacksdk's "No X found for", Keystone's "Could not
// find" and "Expecting to find".
var notFound = anyOf(
	`could not be found`,
	`\bnot found\b`,
	`notfound`,
	`could not find`,
	`unable to find`,
	`expecting to find`,
	`\bno \S+(?: \S+)? matching\b`,
	`\bno \S+ found for\b`,
	`does not exist|doesn't exist`,
	`\(http 404\)`,
)

// serverFault holds the wrappers of a resource that went to an error
// status (Heat's ResourceInError, Nova's BuildAbortException and
// RescheduledException) and timeouts. Their inner words are only trusted
// for capacity and not-found, which are tried before this rule.
var serverFault = anyOf(
	`went to status`,
	`build of instance\b[^:]{0,80}\b(?:aborted|was re-scheduled)`,
	`timed out`,
)

// alreadyExists holds the conflict texts that say the thing to create is
// there already: Heat's StackExists, Nova's KeyPairExists, Keystone's
// duplicate entries, Neutron's address in use.
var alreadyExists = anyOf(
	`already exists`,
	`duplicate entry`,
	`conflict occurred attempting to store`,
	`(?:ip|mac) address \S+ is (?:already )?in use`,
	`already allocated`,
)

// rules is the classification table, tried top to bottom; first match
// wins. Why this order:
//
//  1. not-capacity: Heat's RequestLimitExceeded also covers template size
//     and nesting depth; those must not read as quota.
//  2. quota and 3. no-room: capacity texts hide words the later rules
//     look for ("No valid host was FOUND", "Conflict: Quota exceeded",
//     a capacity cause inside "Went to status ERROR"), so they come first.
//  4. missing-capability: a missing endpoint, resource type or template
//     says "not found" too, but it is the cloud or the template that is
//     wrong, not a thing the stack refers to.
//  5. not-found: before the server-fault wrapper, so that a missing
//     image or flavor named inside "Went to status ERROR" is still a
//     missing thing.
//  6. server-fault: any other resource in ERROR, build abort or timeout
//     is an infrastructure failure, whatever else its inner text says
//     (for example a hypervisor's "instance-0001 already exists").
//  7. already-exists.
//
// Anything else is an InfrastructureError.
var rules = []rule{
	{InfrastructureError, notCapacity},       // 1. not-capacity
	{InsufficientCapacity, quota},            // 2. quota
	{InsufficientCapacity, noRoom},           // 3. no-room
	{InfrastructureError, missingCapability}, // 4. missing-capability
	{ResourceNotFound, notFound},             // 5. not-found
	{InfrastructureError, serverFault},       // 6. server-fault
	{ResourceAlreadyExists, alreadyExists},   // 7. already-exists
}

// Classify maps an OpenStack failure text to a failure code. The text is a
// Heat stack_status_reason or resource_status_reason, or the message of a
// Keystone, Heat, Nova, Neutron or Cinder error; Heat's wrappers
// ("Resource CREATE failed: ...", nested stacks) need no unwrapping.
// Matching ignores case. The rules are tried in a fixed order and the
// first match wins: Heat limits that are not capacity (template size,
// nesting depth, rate limits), then quota, then no room in the cloud, then
// a missing endpoint, resource type or template (the cloud's or the
// template's fault), then not found, then a resource in ERROR, a build
// abort or a timeout, then already exists. So capacity wins over not found
// ("No valid host was found"), and a capacity or not-found cause inside
// "Went to status ERROR" counts, while an "already exists" inside it does
// not. A blank or unknown text is an InfrastructureError. Classify never
// returns InternalError: the driver's own failures are not OpenStack's
// words.
func Classify(reason string) Code {
	if strings.TrimSpace(reason) == "" {
		return InfrastructureError
	}
	for _, r := range rules {
		if r.re.MatchString(reason) {
			return r.code
		}
	}
	return InfrastructureError
}

// IsQuota reports whether msg says that a quota or limit was exceeded
// (Nova, Neutron or Cinder over quota, Heat's stack and resource limits).
// It is meant for the body of a Heat 403 or 413 answer. It is false for
// texts about the cloud having no room (no valid host) and for Heat's
// template size and nesting depth limits.
func IsQuota(msg string) bool {
	return !notCapacity.MatchString(msg) && quota.MatchString(msg)
}

// IsMissingReference reports whether msg, typically the body of a Heat 400
// validation answer, says that something the template refers to (image,
// flavor, key pair, network, subnet, port, volume, security group, server
// group, ...) could not be found in the cloud. It is false for template
// problems such as a missing parameter, an unknown property or resource
// type, or a nested template that cannot be fetched. It agrees with
// Classify: true exactly when Classify(msg) is ResourceNotFound.
func IsMissingReference(msg string) bool {
	return Classify(msg) == ResourceNotFound
}

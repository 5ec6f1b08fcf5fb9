package jobs

import "github.com/twmb/franz-go/pkg/kmsg"

// Short names for the commit callback's request and response types.
type (
	kmsgReq  = kmsg.OffsetCommitRequest
	kmsgResp = kmsg.OffsetCommitResponse
)

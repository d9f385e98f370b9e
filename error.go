package payrecon

import "errors"

// ErrNotFound is returned by lookups (in the ledger, in the archive) that
// find nothing; callers branch on it with errors.Is.
var ErrNotFound = errors.New("not found")

// Reasons a notification is rejected. Verifiers wrap these so callers can
// branch with errors.Is; [RejectReason] maps them to the stable codes stored
// in quarantine.
var (
	ErrBadSignature    = errors.New("bad signature")
	ErrProbe           = errors.New("signature probe")
	ErrClockSkew       = errors.New("timestamp outside the allowed skew")
	ErrAccountMismatch = errors.New("notification is for another merchant")
	ErrUnknownAccount  = errors.New("unknown account")
	ErrMalformed       = errors.New("malformed notification")
	ErrDecrypt         = errors.New("cannot decrypt")
	ErrTooLarge        = errors.New("body too large")
	ErrMethod          = errors.New("method not allowed")
	ErrUnsupported     = errors.New("unsupported notification")
)

var rejectCodes = []struct {
	err  error
	code string
}{
	{ErrProbe, "probe"},
	{ErrBadSignature, "bad_signature"},
	{ErrClockSkew, "clock_skew"},
	{ErrAccountMismatch, "account_mismatch"},
	{ErrUnknownAccount, "unknown_account"},
	{ErrDecrypt, "decrypt"},
	{ErrTooLarge, "oversize"},
	{ErrMethod, "method"},
	{ErrUnsupported, "unsupported"},
	{ErrMalformed, "malformed"},
}

// RejectReason returns the stable quarantine code for a rejection error, or
// "internal" for an error that is not a rejection.
func RejectReason(err error) string {
	for _, rc := range rejectCodes {
		if errors.Is(err, rc.err) {
			return rc.code
		}
	}
	return "internal"
}

// RejectReasons lists the stable quarantine codes [RejectReason] returns,
// "internal" last.
func RejectReasons() []string {
	out := make([]string, 0, len(rejectCodes)+1)
	for _, rc := range rejectCodes {
		out = append(out, rc.code)
	}
	return append(out, "internal")
}

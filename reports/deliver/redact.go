package deliver

import (
	"cmp"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// urlPattern finds URLs in a robot's reply; secretParam and secretField
// find query parameters and JSON fields that carry keys, tokens or
// signatures.
var (
	urlPattern  = regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>\\]+`)
	secretParam = regexp.MustCompile(`(?i)\b(access_token|key|token|sign|signature|secret|timestamp)=[^&\s"'<>\\]+`)
	secretField = regexp.MustCompile(`(?i)"(access_token|key|token|sign|signature|secret)"\s*:\s*"[^"]*"`)
)

// Redact returns err with every secret removed from its text: each URL
// (shown as [RedactURL] shows it), each key, token or signature query
// parameter or JSON field, and every occurrence of the given secrets: for a webhook URL
// its whole text, its query values and its longer path segments (where
// Feishu and Slack keep their keys), raw and escaped. A robot's error
// reply may echo the URL it was called on; what Redact returns may be
// logged and stored. nil stays nil. The result matches what err matched
// with errors.Is (context.Canceled, say) but does not unwrap to err, whose
// text is not safe.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: RedactText(err.Error(), secrets...), cause: err}
}

type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.cause, target) }

// RedactText is [Redact] on a string.
func RedactText(s string, secrets ...string) string {
	var words []string
	for _, sec := range secrets {
		words = append(words, secretWords(sec)...)
	}
	// Longest first, so a URL goes before the key inside it.
	slices.SortFunc(words, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, w := range words {
		s = strings.ReplaceAll(s, w, "…")
	}
	s = urlPattern.ReplaceAllStringFunc(s, RedactURL)
	s = secretParam.ReplaceAllString(s, "$1=…")
	return secretField.ReplaceAllString(s, `"$1":"…"`)
}

// secretWords are the forms a secret may take in a reply: itself, escaped,
// and for a URL its query values and path segments of 8 or more bytes.
func secretWords(sec string) []string {
	if len(sec) < 4 {
		return nil
	}
	words := []string{sec, url.QueryEscape(sec), url.PathEscape(sec)} // none is empty
	u, err := url.Parse(sec)
	if err != nil || u.Host == "" {
		return words
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 4 {
				words = append(words, v, url.QueryEscape(v))
			}
		}
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if len(seg) >= 8 {
			words = append(words, seg)
		}
	}
	return words
}

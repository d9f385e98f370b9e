package store

import (
	"net/url"
	"strings"
)

// A PostgreSQL database is named by a postgres:// or postgresql:// URL, or
// by a libpq keyword/value string ("host=db1 dbname=ledger user=payrecon"),
// both of which pgx parses; anything else is a SQLite path.

// IsPostgres reports whether source (the config's database) names a
// PostgreSQL database, a postgres:// or postgresql:// URL or a libpq
// keyword/value string, rather than a SQLite file.
func IsPostgres(source string) bool {
	if isPostgresURL(source) {
		return true
	}
	kvs, ok := parseKeywordDSN(source)
	if !ok {
		return false
	}
	for _, kv := range kvs {
		switch kv.key {
		case "host", "hostaddr", "port", "dbname", "user", "service":
			return true
		}
	}
	return false
}

func isPostgresURL(source string) bool {
	return strings.HasPrefix(source, "postgres://") || strings.HasPrefix(source, "postgresql://")
}

// Redact returns source fit for logs and errors: a URL without its password
// (and without any other query parameter value that may carry one), a
// keyword/value string without the values of such keywords; a path
// unchanged.
func Redact(source string) string {
	if !IsPostgres(source) {
		return source
	}
	if kvs, ok := parseKeywordDSN(source); ok && !isPostgresURL(source) {
		out := make([]string, len(kvs))
		for i, kv := range kvs {
			if secretParam(kv.key) {
				kv.raw = "xxxxx"
			}
			out[i] = kv.key + "=" + kv.raw
		}
		return strings.Join(out, " ")
	}
	u, err := url.Parse(source)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for k := range q {
		if secretParam(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// secretParam reports whether a connection parameter's value may carry a
// secret (password, sslpassword) or point at one (sslkey, passfile).
func secretParam(k string) bool {
	return strings.Contains(k, "password") || strings.Contains(k, "sslkey") || strings.Contains(k, "passfile")
}

// dsnParam is one keyword=value of a keyword/value string; raw is the
// value as written (quoted or not).
type dsnParam struct{ key, raw string }

// parseKeywordDSN splits a libpq keyword/value string: keywords of
// lower-case letters, digits and '_', '=' with optional spaces around it,
// values bare (backslash escapes) or in single quotes (backslash escapes
// \' and \\). ok is false for anything else, such as a file path, and for
// an empty string.
func parseKeywordDSN(s string) (kvs []dsnParam, ok bool) {
	s = strings.TrimLeft(s, " \t\n\r")
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_') {
			i++
		}
		key, rest := s[:i], strings.TrimLeft(s[i:], " \t\n\r")
		if key == "" || !strings.HasPrefix(rest, "=") {
			return nil, false
		}
		rest = strings.TrimLeft(rest[1:], " \t\n\r")
		n, ok := dsnValueLen(rest)
		if !ok {
			return nil, false
		}
		kvs = append(kvs, dsnParam{key: key, raw: rest[:n]})
		s = strings.TrimLeft(rest[n:], " \t\n\r")
	}
	return kvs, len(kvs) > 0
}

// dsnValueLen is the length of the value at the start of s: up to the
// closing quote of a quoted one, up to white space for a bare one.
func dsnValueLen(s string) (int, bool) {
	quoted := strings.HasPrefix(s, "'")
	i := 0
	if quoted {
		i = 1
	}
	for i < len(s) {
		switch c := s[i]; {
		case c == '\\':
			i += 2
			continue
		case quoted && c == '\'':
			return i + 1, true
		case !quoted && strings.IndexByte(" \t\n\r", c) >= 0:
			return i, true
		}
		i++
	}
	if quoted || i > len(s) {
		return 0, false // unterminated quote, or a trailing backslash
	}
	return i, true
}

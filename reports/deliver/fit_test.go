package deliver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/dingtalk"
	"github.com/payrecon/payrecon/reports/deliver/feishu"
	"github.com/payrecon/payrecon/reports/deliver/wecom"
)

// rawRobot is a loopback robot that keeps each request body as sent and
// answers success in the dialect of every robot.
func rawRobot(t *testing.T) (*httptest.Server, func() [][]byte) {
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		io.WriteString(w, `{"errcode":0,"code":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return append([][]byte(nil), bodies...)
	}
}

// longText is n lines of a digest's order list, in Chinese (3-byte runes).
func longText(n int) string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("  · W2026112000%04d ¥%d.00 需人工复核（金额不符）", i, i+1)
	}
	return strings.Join(lines, "\n")
}

var marker = regexp.MustCompile(`\n(… 另有 (\d+) 条|… and (\d+) more)$`)

// checkCut checks that got is original cut at a line boundary followed by
// the marker, whose count is the number of lines left out.
func checkCut(t *testing.T, original, got string) {
	t.Helper()
	m := marker.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no \"… N more\" marker at the end: …%s", got[max(0, len(got)-80):])
	}
	kept := strings.TrimSuffix(got, m[0])
	if !strings.HasPrefix(original, kept+"\n") {
		t.Fatalf("not cut at a line boundary: …%q", kept[max(0, len(kept)-40):])
	}
	n, _ := strconv.Atoi(m[2] + m[3])
	if want := strings.Count(original, "\n") - strings.Count(kept, "\n"); n != want {
		t.Fatalf("marker says %d more, %d lines were left out", n, want)
	}
}

// TestRobotsFitAPhone: a message far longer than each robot's documented
// limit reaches a loopback robot within the limit, cut at a line boundary
// with "… 另有 N 条" (or "… and N more" in English); a short one is sent
// whole.
func TestRobotsFitAPhone(t *testing.T) {
	srv, bodies := rawRobot(t)
	text := longText(2000) // ~110 KB
	cases := []struct {
		name    string
		n       deliver.Notifier
		content func(body []byte) string // what the robot limits
		limit   int
	}{
		{"wecom", &wecom.Notifier{URL: srv.URL + "/wecom?key=k", HTTP: srv.Client()}, func(b []byte) string {
			var m struct{ Markdown struct{ Content string } }
			json.Unmarshal(b, &m)
			return m.Markdown.Content
		}, wecom.MaxContentBytes},
		{"dingtalk", &dingtalk.Notifier{URL: srv.URL + "/ding?access_token=k", Secret: []byte(secret), HTTP: srv.Client(), Now: func() time.Time { return now }}, func(b []byte) string {
			var m struct{ Markdown struct{ Text string } }
			json.Unmarshal(b, &m)
			return m.Markdown.Text
		}, dingtalk.MaxTextBytes},
		{"feishu", &feishu.Notifier{URL: srv.URL + "/feishu", Secret: []byte(secret), HTTP: srv.Client(), Now: func() time.Time { return now }}, func(b []byte) string {
			return string(b) // Feishu limits the whole request body
		}, feishu.MaxBodyBytes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, locale := range []string{"zh", "en"} {
				before := len(bodies())
				if _, err := c.n.Notify(t.Context(), deliver.Message{Title: "payrecon 对账日报", Text: text, Locale: locale}); err != nil {
					t.Fatal(err)
				}
				body := bodies()[before]
				limited := c.content(body)
				if len(limited) > c.limit || len(limited) < c.limit*3/4 {
					t.Fatalf("%s: %d bytes against a limit of %d", locale, len(limited), c.limit)
				}
				var sent string
				switch c.name {
				case "feishu":
					var m struct{ Content struct{ Text string } }
					json.Unmarshal(body, &m)
					sent = strings.TrimPrefix(m.Content.Text, "payrecon 对账日报\n")
				default:
					_, sent, _ = strings.Cut(limited, "\n")
					sent = strings.TrimPrefix(sent, "\n")
				}
				checkCut(t, text, sent)
				if wantEn := locale == "en"; strings.Contains(sent, "and ") != wantEn {
					t.Fatalf("%s marker: …%s", locale, sent[len(sent)-30:])
				}
			}
			before := len(bodies())
			c.n.Notify(t.Context(), deliver.Message{Title: "t", Text: "short\ntext"})
			var short struct {
				Markdown struct{ Content, Text string }
				Content  struct{ Text string }
			}
			json.Unmarshal(bodies()[before], &short)
			if got := short.Markdown.Content + short.Markdown.Text + short.Content.Text; !strings.HasSuffix(got, "\nshort\ntext") || strings.Contains(got, "…") {
				t.Fatalf("a short message was changed: %q", got)
			}
		})
	}
}

// TestFitLongLine: one line longer than the limit is cut at a rune
// boundary, and the marker still fits.
func TestFitLongLine(t *testing.T) {
	text := strings.Repeat("渠道", 3000) + "\nsecond"
	got := deliver.Fit(text, 100, "zh", func(s string) int { return len(s) })
	if len(got) > 100 || !strings.HasSuffix(got, "\n… 另有 1 条") || !utf8.ValidString(got) {
		t.Fatalf("%d bytes: %q", len(got), got)
	}
}

// FuzzFit: whatever the text and limit, the result fits (when the limit
// leaves room for a marker), is valid UTF-8 for valid input, and is either
// the text itself or a prefix of it cut at a line boundary (or inside a
// too-long first line) plus one marker line.
func FuzzFit(f *testing.F) {
	f.Add("a\nbb\nccc", 6)
	f.Add(longText(50), 300)
	f.Add("渠道查无此单", 20)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 40 || limit > 1<<16 || !utf8.ValidString(text) {
			t.Skip()
		}
		got := deliver.Fit(text, limit, "zh", func(s string) int { return len(s) })
		if len(got) > limit || !utf8.ValidString(got) {
			t.Fatalf("%d bytes (limit %d), valid %v", len(got), limit, utf8.ValidString(got))
		}
		if got == text {
			return
		}
		m := marker.FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("cut without a marker: %q", got)
		}
		if kept := strings.TrimSuffix(got, m[0]); !strings.HasPrefix(text, kept) {
			t.Fatalf("%q is not a prefix of the text", kept)
		}
	})
}

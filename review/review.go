// Package review holds the rules by which a person settles what the daily
// reconciliation could not: the open items (NEEDS_REVIEW, CONFIRMED_ABSENT,
// PENDING past its hold), one item with its evidence, a rate-limited query
// again, and the three resolutions (accept the provider's record, accept
// the ledger's, write off a difference within a tolerance), each with an
// operator and a remark, audited, and, when it changes money, previewed
// and confirmed with the preview's token. The command line (payrecon
// review) and the console call the same [Service].
package review

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/reconcile"
	"github.com/payrecon/payrecon/store"
)

// Ledger is what the review needs from the ledger.
type Ledger interface {
	OpenItems(ctx context.Context, f store.ItemFilter) ([]payrecon.ReviewItem, error)
	Item(ctx context.Context, id int64) (payrecon.ReviewItem, error)
	SetItemQuery(ctx context.Context, id int64, operator, result string) error
	QueriesOf(ctx context.Context, account, object string) ([]store.ItemQuery, error)
	ResolveItem(ctx context.Context, r payrecon.ManualResolution, preview bool) ([]payrecon.Change, error)
	NotificationsFor(ctx context.Context, account, outTradeNo string) ([]store.StoredNotification, error)
	AuditOf(ctx context.Context, account, object string) ([]payrecon.AuditEntry, error)
	LatestBill(ctx context.Context, account string, day payrecon.Day) (payrecon.Bill, error)
}

// Account is one account's provider and its query client.
type Account struct {
	Provider payrecon.Provider
	Query    reconcile.Querier
}

// Service applies the review rules.
type Service struct {
	DB       Ledger
	Accounts map[string]Account
	// WriteOffMaxFen is the largest difference a write-off may settle
	// (0: write-offs are refused).
	WriteOffMaxFen payrecon.Fen
	// HoldDays is how long a PENDING item waits before it is open
	// (default 2, as the daily job's hold).
	HoldDays int
	// Interval is the least time between two provider queries.
	Interval time.Duration
	Now      func() time.Time

	pace provider.Pacer
}

// Filter selects open items.
type Filter struct {
	Account string
	Day     payrecon.Day
	Code    payrecon.Code
	State   payrecon.Outcome
}

// List returns the open items, oldest day first, the largest at stake first.
func (s *Service) List(ctx context.Context, f Filter) ([]payrecon.ReviewItem, error) {
	hold := s.HoldDays
	if hold <= 0 {
		hold = 2
	}
	items, err := s.DB.OpenItems(ctx, store.ItemFilter{Account: f.Account, Day: f.Day, Code: f.Code, State: f.State,
		PendingBefore: payrecon.DayOf(s.now()).AddDays(-hold)})
	if err != nil {
		return nil, fmt.Errorf("review list: %w", err)
	}
	return items, nil
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Notification is a raw notification as the review shows it: the body
// verbatim, only the allow-listed headers.
type Notification struct {
	ID         int64               `json:"id"`
	Protocol   string              `json:"protocol"`
	EventType  string              `json:"event_type"`
	SignedBy   string              `json:"signed_by"`
	Header     map[string][]string `json:"headers"`
	Body       string              `json:"body"`
	ReceivedAt time.Time           `json:"received_at"`
	Deliveries int                 `json:"deliveries"`
}

// shownHeaders are the request headers a notification is shown with; any
// other (cookies, authorization, proxies' additions) is never shown.
var shownHeaders = []string{"Content-Type", "Content-Length", "User-Agent", "Request-Id", "Wechatpay-Timestamp", "Wechatpay-Nonce",
	"Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Signature-Type"}

// Detail is one item with its evidence.
type Detail struct {
	Item          payrecon.ReviewItem `json:"item"`
	Open          bool                `json:"open"`
	Notifications []Notification      `json:"notifications"`
	// Queries are the queries people asked again, with the answers.
	Queries []store.ItemQuery     `json:"queries"`
	Audit   []payrecon.AuditEntry `json:"audit"`
	// BillLines are the item's lines in the day's archived bill, as the
	// provider wrote them (at most maxBillLines); BillError says why they
	// could not be read.
	BillLines []archive.Line `json:"bill_lines"`
	BillError string         `json:"bill_error,omitempty"`
}

// maxBillLines bounds the bill lines shown for one item.
const maxBillLines = 10

// Show returns one item, the raw notifications of its trade and its
// audit trail.
func (s *Service) Show(ctx context.Context, id int64) (Detail, error) {
	it, err := s.DB.Item(ctx, id)
	if err != nil {
		return Detail{}, fmt.Errorf("review show: %w", err)
	}
	d := Detail{Item: it, Open: it.Resolution.IsOpenForReview() && !settled(it.LedgerState)}
	if it.OutTradeNo != "" {
		ns, err := s.DB.NotificationsFor(ctx, it.Account, it.OutTradeNo)
		if err != nil {
			return Detail{}, fmt.Errorf("review show: %w", err)
		}
		for _, n := range ns {
			d.Notifications = append(d.Notifications, Notification{ID: n.ID, Protocol: n.Protocol, EventType: n.EventType, SignedBy: n.SignedBy,
				Header: allowHeaders(n.Header), Body: string(n.Body), ReceivedAt: n.ReceivedAt, Deliveries: n.Deliveries})
		}
	}
	if d.Queries, err = s.DB.QueriesOf(ctx, it.Account, object(it)); err != nil {
		return Detail{}, fmt.Errorf("review show: %w", err)
	}
	if d.Audit, err = s.DB.AuditOf(ctx, it.Account, object(it)); err != nil {
		return Detail{}, fmt.Errorf("review show: %w", err)
	}
	d.BillLines, d.BillError = s.billLines(ctx, it)
	return d, nil
}

// billLines finds the item's lines in the day's archived bill: a refund's
// by its refund number, a payment's by its order and provider numbers
// (which also finds its refunds' rows). A bill that cannot be read is
// said, not an error: the rest of the item still shows.
func (s *Service) billLines(ctx context.Context, it payrecon.ReviewItem) ([]archive.Line, string) {
	bill, err := s.DB.LatestBill(ctx, it.Account, it.Day)
	if errors.Is(err, payrecon.ErrNotFound) {
		return nil, ""
	}
	if err != nil {
		return nil, err.Error()
	}
	keys := []string{it.OutTradeNo, it.ProviderTradeNo}
	if it.Kind == payrecon.EntryRefund && it.OutRefundNo != "" {
		keys = []string{it.OutRefundNo}
	}
	lines, err := archive.FindLines(bill, keys, maxBillLines)
	if err != nil {
		return lines, err.Error()
	}
	return lines, ""
}

func settled(s payrecon.ReconState) bool {
	return s == payrecon.StateMatched || s == payrecon.StateRecovered || s == payrecon.StateResolvedManually
}

func object(it payrecon.ReviewItem) string {
	if it.Kind == payrecon.EntryRefund {
		return "refund:" + it.OutRefundNo
	}
	return "trade:" + it.OutTradeNo
}

func allowHeaders(h map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, k := range shownHeaders {
		if v := http.Header(h).Values(k); len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// Requery asks the provider about the item again now (rate-limited like
// the daily job's queries), records the answer on the item and in its
// query history under operator, and returns it.
func (s *Service) Requery(ctx context.Context, id int64, operator string) (string, error) {
	it, err := s.DB.Item(ctx, id)
	if err != nil {
		return "", fmt.Errorf("review requery: %w", err)
	}
	q, err := s.query(ctx, it)
	answer := q.Evidence
	switch {
	case errors.Is(err, provider.ErrNotFound):
		answer = strings.TrimSuffix("not found at the provider: "+q.Evidence, ": ")
	case err != nil:
		return "", fmt.Errorf("review requery %d: %w", id, err)
	}
	if err := s.DB.SetItemQuery(ctx, id, operator, answer); err != nil {
		return "", fmt.Errorf("review requery: %w", err)
	}
	return answer, nil
}

// query asks the item's provider about it, at most once per Interval.
func (s *Service) query(ctx context.Context, it payrecon.ReviewItem) (provider.Query, error) {
	acct, ok := s.Accounts[it.Account]
	if !ok || acct.Query == nil {
		return provider.Query{}, fmt.Errorf("query %s: %w", it.Account, payrecon.ErrUnknownAccount)
	}
	if err := s.wait(ctx); err != nil {
		return provider.Query{}, err
	}
	if it.Kind == payrecon.EntryRefund {
		return acct.Query.QueryRefund(ctx, it.OutTradeNo, it.OutRefundNo)
	}
	return acct.Query.QueryPayment(ctx, it.OutTradeNo, it.ProviderTradeNo)
}

func (s *Service) wait(ctx context.Context) error { return s.pace.Wait(ctx, s.Interval) }

// Request is a person's resolution of an item.
type Request struct {
	ItemID   int64
	Action   payrecon.ReviewAction
	Operator string
	Remark   string
}

// Plan is what a resolution changes, and whether it needs confirming
// with Token (it changes money).
type Plan struct {
	Item         payrecon.ReviewItem `json:"-"`
	Changes      []payrecon.Change   `json:"changes"`
	NeedsConfirm bool                `json:"needs_confirm"`
	Token        string              `json:"token"`
	Evidence     string              `json:"evidence,omitempty"`
}

// Preview computes what the resolution would change and changes nothing.
// Accepting the provider's record queries the provider now.
func (s *Service) Preview(ctx context.Context, req Request) (Plan, error) {
	p, _, err := s.plan(ctx, req)
	if err != nil {
		return Plan{}, fmt.Errorf("review preview: %w", err)
	}
	return p, nil
}

func (s *Service) plan(ctx context.Context, req Request) (Plan, payrecon.ManualResolution, error) {
	it, err := s.DB.Item(ctx, req.ItemID)
	if err != nil {
		return Plan{}, payrecon.ManualResolution{}, err
	}
	r := payrecon.ManualResolution{ItemID: req.ItemID, Provider: s.Accounts[it.Account].Provider, Action: req.Action,
		Operator: strings.TrimSpace(req.Operator), Remark: strings.TrimSpace(req.Remark)}
	if err := r.Validate(); err != nil && !(req.Action == payrecon.AcceptProvider && r.Event == nil) {
		return Plan{}, r, err
	}
	switch req.Action {
	case payrecon.AcceptProvider:
		if err := s.providerRecord(ctx, it, &r); err != nil {
			return Plan{}, r, err
		}
	case payrecon.WriteOff:
		if err := s.writeOff(it, &r); err != nil {
			return Plan{}, r, err
		}
	}
	cs, err := s.DB.ResolveItem(ctx, r, true)
	if err != nil {
		return Plan{}, r, err
	}
	p := Plan{Item: it, Changes: cs, NeedsConfirm: payrecon.ChangesMoney(cs), Evidence: r.Evidence}
	p.Token = token(req, cs)
	return p, r, nil
}

// providerRecord fetches the provider's verified record of the item.
func (s *Service) providerRecord(ctx context.Context, it payrecon.ReviewItem, r *payrecon.ManualResolution) error {
	q, err := s.query(ctx, it)
	if errors.Is(err, provider.ErrNotFound) || (err == nil && q.Event == nil) {
		return fmt.Errorf("%w: the provider has no record of %s to accept (accept the ledger's record instead)", payrecon.ErrBadReview, it.OrderNo())
	}
	if err != nil {
		return fmt.Errorf("query the provider: %w", err)
	}
	r.Event, r.Evidence = q.Event, q.Evidence
	return nil
}

// writeOff checks the difference against the tolerance.
func (s *Service) writeOff(it payrecon.ReviewItem, r *payrecon.ManualResolution) error {
	diff := it.DiffFen()
	if diff == 0 {
		return fmt.Errorf("%w: item %d has no difference between bill and ledger to write off", payrecon.ErrBadReview, it.ID)
	}
	abs := diff
	if abs < 0 {
		abs = -abs
	}
	if abs > s.WriteOffMaxFen {
		return fmt.Errorf("%w: the difference %s exceeds the write-off tolerance %s (review.write_off_max_fen)", payrecon.ErrBadReview, abs, s.WriteOffMaxFen)
	}
	r.WriteOffFen = diff
	return nil
}

// token binds a confirmation to the item, the action and the exact
// changes previewed: if anything changed since, the token no longer fits.
func token(req Request, cs []payrecon.Change) string {
	b, _ := json.Marshal(struct {
		ID      int64
		Action  payrecon.ReviewAction
		Changes []payrecon.Change
	}{req.ItemID, req.Action, cs})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Resolve applies the resolution. One that changes money needs confirm to
// be the token of its preview; otherwise it returns the plan and
// [payrecon.ErrNeedsConfirmation] and changes nothing.
func (s *Service) Resolve(ctx context.Context, req Request, confirm string) (Plan, error) {
	p, r, err := s.plan(ctx, req)
	if err != nil {
		return Plan{}, fmt.Errorf("review resolve: %w", err)
	}
	if p.NeedsConfirm && confirm != p.Token {
		return p, fmt.Errorf("review resolve %d: %w", req.ItemID, payrecon.ErrNeedsConfirmation)
	}
	if p.Changes, err = s.DB.ResolveItem(ctx, r, false); err != nil {
		return Plan{}, fmt.Errorf("review resolve: %w", err)
	}
	return p, nil
}

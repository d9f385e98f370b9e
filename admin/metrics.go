package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/forward"
	"github.com/payrecon/payrecon/jobs"
)

// Metrics are payrecon's Prometheus metrics, on their own registry,
// served at /metrics by [Metrics.Handler].
type Metrics struct {
	reg           *prometheus.Registry
	notifications *prometheus.CounterVec
	ack           *prometheus.HistogramVec
	runs          *prometheus.CounterVec
	discrepancies *prometheus.GaugeVec
	billDownload  *prometheus.HistogramVec
	queries       *prometheus.CounterVec
	deliveries    *prometheus.CounterVec
	health        *prometheus.GaugeVec
	forwarded     *prometheus.CounterVec
	forwardTime   *prometheus.HistogramVec
}

// NewMetrics registers every metric (and the Go and process collectors)
// on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payrecon_notifications_total",
			Help: "Notifications received, by account, result (accepted, duplicate, rejected, error) and rejection reason."}, []string{"account", "result", "reason"}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "payrecon_notification_ack_seconds",
			Help: "Time from receiving a notification to replying (after the ledger commit).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"account"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payrecon_reconcile_runs_total",
			Help: "Reconciliation runs by account and outcome (ok, failed, cancelled)."}, []string{"account", "outcome"}),
		discrepancies: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "payrecon_discrepancies",
			Help: "Rows per reconciliation code in the account's latest run."}, []string{"account", "code"}),
		billDownload: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "payrecon_bill_download_seconds",
			Help: "Time to obtain a day's bill, retries included.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 16)}, []string{"account"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payrecon_queries_total",
			Help: "Discrepancies chased with a provider query, by account and outcome."}, []string{"account", "outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payrecon_deliveries_total",
			Help: "Alert and e-mail deliveries by channel and status (sent, failed)."}, []string{"channel", "status"}),
		health: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "payrecon_callback_health_ratio",
			Help: "Share of the latest reconciled day's paid trades learned from notifications (0–1)."}, []string{"account"}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payrecon_forward_deliveries_total",
			Help: "Event delivery attempts to the merchant's app by endpoint and result (delivered, retry, failed, gone)."}, []string{"endpoint", "result"}),
		forwardTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "payrecon_forward_latency_seconds",
			Help: "Time from an event's ledger commit to the app's 2xx.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 16)}, []string{"endpoint"}),
	}
	m.reg.MustRegister(m.notifications, m.ack, m.runs, m.discrepancies, m.billDownload, m.queries, m.deliveries, m.health, m.forwarded, m.forwardTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// ObserveNotification counts one notification (result accepted,
// duplicate, rejected or error) and, when acknowledged, its reply time.
func (m *Metrics) ObserveNotification(account, result, reason string, elapsed time.Duration) {
	m.notifications.WithLabelValues(account, result, reason).Inc()
	if result == "accepted" || result == "duplicate" {
		m.ack.WithLabelValues(account).Observe(elapsed.Seconds())
	}
}

// ObserveRun records a finished reconciliation run.
func (m *Metrics) ObserveRun(rep jobs.Report, err error) {
	outcome := string(payrecon.RunStatusOf(err))
	m.runs.WithLabelValues(rep.Account, outcome).Inc()
	m.billDownload.WithLabelValues(rep.Account).Observe(rep.BillDownload.Seconds())
	if err != nil {
		return
	}
	for _, c := range payrecon.Codes {
		m.discrepancies.WithLabelValues(rep.Account, string(c)).Set(float64(rep.Counts[c]))
	}
	for _, d := range rep.Discrepancies { // reached by this run: a re-run does not chase settled items again
		if d.Resolution != "" && d.ResolvedRun == rep.RunID {
			m.queries.WithLabelValues(rep.Account, string(d.Resolution)).Inc()
		}
	}
	m.health.WithLabelValues(rep.Account).Set(float64(rep.Health.NotifyShareE4()) / 10000)
}

// ObserveDelivery counts an alert or e-mail delivery.
func (m *Metrics) ObserveDelivery(channel string, err error) {
	status := "sent"
	if err != nil {
		status = "failed"
	}
	m.deliveries.WithLabelValues(channel, status).Inc()
}

// ObserveForward counts one delivery attempt to the merchant's app and,
// when delivered, its latency from commit to 2xx.
func (m *Metrics) ObserveForward(endpoint, result string, latency time.Duration) {
	m.forwarded.WithLabelValues(endpoint, result).Inc()
	if result == forward.ResultDelivered {
		m.forwardTime.WithLabelValues(endpoint).Observe(latency.Seconds())
	}
}

// quarantineReader is what the quarantine metrics read at each scrape.
type quarantineReader interface {
	QuarantineUsage(ctx context.Context) (payrecon.QuarantineUsage, error)
}

// WatchQuarantine exports the quarantine's size and the rows its caps
// dropped, read from the ledger at each scrape.
func (m *Metrics) WatchQuarantine(db quarantineReader) {
	read := func() payrecon.QuarantineUsage {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		u, _ := db.QuarantineUsage(ctx) // a failed read shows zero; /readyz reports the ledger
		return u
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "payrecon_quarantine_bytes",
			Help: "Bytes stored for rejected notifications (capped by limits.quarantine_max_bytes)."}, func() float64 { return float64(read().Bytes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "payrecon_quarantine_dropped_total",
			Help: "Quarantined notifications dropped, oldest first, by the size or age cap."}, func() float64 { return float64(read().Dropped) }))
}

// outboxReader is what the outbox gauges read at each scrape.
type outboxReader interface {
	Outbox(ctx context.Context) (payrecon.OutboxStats, error)
}

// WatchOutbox exports the outbox's depth and the age of its oldest pending
// event, read from the ledger at each scrape.
func (m *Metrics) WatchOutbox(db outboxReader) {
	read := func() payrecon.OutboxStats {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, _ := db.Outbox(ctx) // a failed read shows an empty outbox; /readyz reports the ledger
		return st
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "payrecon_forward_outbox_depth",
			Help: "Event deliveries pending to the merchant's app."}, func() float64 { return float64(read().Pending) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "payrecon_forward_oldest_pending_seconds",
			Help: "Age of the oldest event not yet delivered (0: none pending)."}, func() float64 {
			if st := read(); !st.OldestPending.IsZero() {
				return time.Since(st.OldestPending).Seconds()
			}
			return 0
		}))
}

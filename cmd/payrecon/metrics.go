package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
)

// metrics are payrecon's Prometheus metrics, on their own registry.
type metrics struct {
	reg           *prometheus.Registry
	notifications *prometheus.CounterVec
	ack           *prometheus.HistogramVec
	runs          *prometheus.CounterVec
	discrepancies *prometheus.GaugeVec
	billDownload  *prometheus.HistogramVec
	queries       *prometheus.CounterVec
	deliveries    *prometheus.CounterVec
	health        *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payrecon_notifications_total",
			Help: "Notifications received, by account, result (accepted, duplicate, rejected, error) and rejection reason."}, []string{"account", "result", "reason"}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "payrecon_notification_ack_seconds",
			Help: "Time from receiving a notification to replying (after the ledger commit).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"account"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payrecon_reconcile_runs_total",
			Help: "Reconciliation runs by account and outcome (ok, failed)."}, []string{"account", "outcome"}),
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
	}
	m.reg.MustRegister(m.notifications, m.ack, m.runs, m.discrepancies, m.billDownload, m.queries, m.deliveries, m.health,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

func (m *metrics) observeNotification(account, result, reason string, elapsed time.Duration) {
	m.notifications.WithLabelValues(account, result, reason).Inc()
	if result == "accepted" || result == "duplicate" {
		m.ack.WithLabelValues(account).Observe(elapsed.Seconds())
	}
}

func (m *metrics) observeRun(rep jobs.Report, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "failed"
	}
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

func (m *metrics) observeDelivery(channel string, err error) {
	status := "sent"
	if err != nil {
		status = "failed"
	}
	m.deliveries.WithLabelValues(channel, status).Inc()
}

package main

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/dingtalk"
	"github.com/payrecon/payrecon/reports/deliver/email"
	"github.com/payrecon/payrecon/reports/deliver/feishu"
	"github.com/payrecon/payrecon/reports/deliver/slack"
	"github.com/payrecon/payrecon/reports/deliver/webhook"
	"github.com/payrecon/payrecon/reports/deliver/wecom"
	"github.com/payrecon/payrecon/store"
)

// newDeliverer builds the delivery channels from the config, or nil when
// none are configured. Secrets (SMTP password, robot secrets, webhook URLs
// with keys) are read from files or env and never logged.
func newDeliverer(cfg config.Config, db *store.DB, getenv func(string) string, hc *http.Client, logger *slog.Logger) (*deliver.Dispatcher, jobs.Alerting, error) {
	d := cfg.Delivery
	var alerting jobs.Alerting
	channels := map[string]deliver.Notifier{}
	if sm := d.SMTP; sm.Host != "" {
		n := &email.Notifier{Host: sm.Host, Port: sm.Port, TLS: sm.TLS, Username: sm.Username, From: sm.From}
		if sm.PasswordFile != "" {
			pw, err := cfg.Secret("delivery.smtp.password_file", sm.PasswordFile, getenv)
			if err != nil {
				return nil, alerting, err
			}
			n.Password = bytes.TrimRight(pw, "\r\n")
		}
		if sm.CAFile != "" {
			pem, err := cfg.Secret("delivery.smtp.ca_file", sm.CAFile, getenv)
			if err != nil {
				return nil, alerting, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, alerting, config.FieldErr("delivery.smtp.ca_file", "no PEM certificate")
			}
			n.RootCAs = pool
		}
		channels[jobs.EmailChannel] = n
	}
	for i, ch := range d.Channels {
		url := ch.URL
		if ch.URLFile != "" {
			b, err := cfg.Secret(fmt.Sprintf("delivery.channels[%d].url_file", i), ch.URLFile, getenv)
			if err != nil {
				return nil, alerting, err
			}
			url = string(bytes.TrimSpace(b))
		}
		var secret []byte
		if ch.SecretFile != "" {
			b, err := cfg.Secret(fmt.Sprintf("delivery.channels[%d].secret_file", i), ch.SecretFile, getenv)
			if err != nil {
				return nil, alerting, err
			}
			secret = bytes.TrimSpace(b)
		}
		switch ch.Type {
		case "dingtalk":
			channels[ch.Name] = &dingtalk.Notifier{URL: url, Secret: secret, HTTP: hc, Now: time.Now}
		case "wecom":
			channels[ch.Name] = &wecom.Notifier{URL: url, HTTP: hc}
		case "feishu":
			channels[ch.Name] = &feishu.Notifier{URL: url, Secret: secret, HTTP: hc, Now: time.Now}
		case "slack":
			channels[ch.Name] = &slack.Notifier{URL: url, HTTP: hc}
		case "webhook":
			channels[ch.Name] = &webhook.Notifier{URL: url, Secret: secret, HTTP: hc, Now: time.Now}
		}
	}
	if len(channels) == 0 {
		return nil, alerting, nil
	}
	alerting.Channels = d.Alerts.Channels
	alerting.RecoveredMin = d.Alerts.RecoveredThreshold
	alerting.HealthMinE4 = int(d.Alerts.CallbackHealthMin)
	return &deliver.Dispatcher{Channels: channels, Log: db, Window: time.Duration(d.Alerts.DedupWindow), Logger: logger.With("component", "deliver")}, alerting, nil
}

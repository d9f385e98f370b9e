package wechatpay

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/payrecon/payrecon/provider"
)

// ErrNoPlatformCerts is returned by [Client.CheckAPIv3Key] when WeChat Pay
// hands out no platform certificate (a merchant on the WeChat Pay public
// key alone): there is nothing sealed with the APIv3 key to open, so the
// key is proven only by the first notification.
var ErrNoPlatformCerts = errors.New("wechatpay: no platform certificates to prove the APIv3 key with")

type certificatesResponse struct {
	Data []struct {
		SerialNo           string `json:"serial_no"`
		EncryptCertificate struct {
			Algorithm      string `json:"algorithm"`
			Nonce          string `json:"nonce"`
			AssociatedData string `json:"associated_data"`
			Ciphertext     string `json:"ciphertext"`
		} `json:"encrypt_certificate"`
	} `json:"data"`
}

// CheckAPIv3Key proves the APIv3 key without a payment: GET
// /v3/certificates (a harmless, signed call) returns the platform
// certificates sealed with the merchant's APIv3 key, as notifications
// are; the key must open each into a PEM certificate. It returns how many
// it opened. A key that opens none is a [provider.ErrMisconfigured] naming
// apiv3_key_file; no certificate at all is [ErrNoPlatformCerts].
func (c *Client) CheckAPIv3Key(ctx context.Context) (int, error) {
	var res certificatesResponse
	if err := c.get(ctx, "wechatpay certificates", "/v3/certificates", &res); err != nil {
		return 0, err
	}
	if len(res.Data) == 0 {
		return 0, ErrNoPlatformCerts
	}
	for _, d := range res.Data {
		ec := d.EncryptCertificate
		pt, err := DecryptGCM(c.Verifier.APIv3Key, ec.Nonce, ec.AssociatedData, ec.Ciphertext)
		if err == nil && !bytes.Contains(pt, []byte("-----BEGIN CERTIFICATE-----")) {
			err = errors.New("the opened certificate is not a PEM certificate")
		}
		if err != nil {
			return 0, provider.Misconfigured("the APIv3 key does not open what WeChat Pay seals with it (platform certificate "+d.SerialNo+
				"), so no notification would decrypt: check apiv3_key_file", fmt.Errorf("decrypt certificate: %w", err))
		}
	}
	return len(res.Data), nil
}

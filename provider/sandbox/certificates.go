package sandbox

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// wechatCertificates answers GET /v3/certificates: the platform
// certificate, its PEM sealed with the merchant's APIv3 key (associated
// data "certificate"), as WeChat Pay hands out platform certificates. A
// merchant that has only the WeChat Pay public key gets an empty list
// (the NoPlatformCerts fault).
func (sv *Server) wechatCertificates(w http.ResponseWriter, sg wxSigner) {
	data := []map[string]any{}
	if !sv.faults.NoPlatformCerts {
		entry, err := sv.sb.platformCertificate()
		if err != nil {
			sv.wxJSON(w, http.StatusInternalServerError, map[string]string{"code": "SYSTEM_ERROR", "message": err.Error()}, sg)
			return
		}
		data = append(data, entry)
	}
	sv.wxJSON(w, http.StatusOK, map[string]any{"data": data}, sg)
}

// platformCertificate is the sandbox's platform certificate as a
// /v3/certificates entry.
func (s *Sandbox) platformCertificate() (map[string]any, error) {
	certPEM, err := os.ReadFile(filepath.Join(s.Dir, "keys", "wechatpay_platform.pem"))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, os.ErrInvalid
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	nonce := randAlnum(12)
	ct, err := wechatpay.EncryptGCM(s.apiv3Key, nonce, "certificate", certPEM)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"serial_no":      s.ID.WeChat.PlatformSerial,
		"effective_time": cert.NotBefore.In(payrecon.ShanghaiFixed).Format(time.RFC3339),
		"expire_time":    cert.NotAfter.In(payrecon.ShanghaiFixed).Format(time.RFC3339),
		"encrypt_certificate": map[string]string{"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": "certificate",
			"ciphertext": ct},
	}, nil
}

package wechatpay

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Message is the string WeChat Pay signs for callbacks and API responses:
// "{timestamp}\n{nonce}\n{body}\n".
func Message(timestamp, nonce string, body []byte) []byte {
	b := make([]byte, 0, len(timestamp)+len(nonce)+len(body)+3)
	b = append(b, timestamp...)
	b = append(b, '\n')
	b = append(b, nonce...)
	b = append(b, '\n')
	b = append(b, body...)
	return append(b, '\n')
}

// SignSHA256 returns the base64 SHA256withRSA (PKCS#1 v1.5) signature of msg.
func SignSHA256(key *rsa.PrivateKey, msg []byte) (string, error) {
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifySHA256 checks a base64 SHA256withRSA signature of msg.
func VerifySHA256(key *rsa.PublicKey, msg []byte, sig string) error {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("decode signature: %w", err)
	}
	sum := sha256.Sum256(msg)
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw)
}

// ErrKeySize is returned for an APIv3 key that is not exactly 32 bytes.
var ErrKeySize = errors.New("APIv3 key must be exactly 32 bytes")

// DecryptGCM opens an AEAD_AES_256_GCM resource: base64 ciphertext with the
// 16-byte tag appended, a 12-byte nonce and associated data, under the
// 32-byte APIv3 key. Go's AES accepts 16-byte keys silently; this does not.
func DecryptGCM(key []byte, nonce, associated, ciphertext string) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("decode ciphertext: %w", err)
	}
	if len(nonce) != aead.NonceSize() {
		return nil, fmt.Errorf("nonce must be %d bytes", aead.NonceSize())
	}
	pt, err := aead.Open(nil, []byte(nonce), ct, []byte(associated))
	if err != nil {
		return nil, errors.New("open AEAD_AES_256_GCM: authentication failed")
	}
	return pt, nil
}

// EncryptGCM seals plaintext as WeChat Pay does for callbacks and returns the
// base64 ciphertext (tag appended).
func EncryptGCM(key []byte, nonce, associated string, plaintext []byte) (string, error) {
	aead, err := gcm(key)
	if err != nil {
		return "", err
	}
	if len(nonce) != aead.NonceSize() {
		return "", fmt.Errorf("nonce must be %d bytes", aead.NonceSize())
	}
	return base64.StdEncoding.EncodeToString(aead.Seal(nil, []byte(nonce), plaintext, []byte(associated))), nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, ErrKeySize
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// V2 sign types.
const (
	SignMD5        = "MD5"
	SignHMACSHA256 = "HMAC-SHA256"
)

// SignV2 computes the APIv2 signature: non-empty parameters except sign,
// sorted by key, joined k=v&…, then "&key=API_KEY", hashed with MD5 or
// HMAC-SHA256 (keyed with the API key), uppercase hex.
func SignV2(params map[string]string, apiKey []byte, signType string) (string, error) {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k == "sign" || v == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
		b.WriteByte('&')
	}
	b.WriteString("key=")
	b.Write(apiKey)
	switch signType {
	case SignMD5, "":
		sum := md5.Sum([]byte(b.String()))
		return strings.ToUpper(hex.EncodeToString(sum[:])), nil
	case SignHMACSHA256:
		m := hmac.New(sha256.New, apiKey)
		m.Write([]byte(b.String()))
		return strings.ToUpper(hex.EncodeToString(m.Sum(nil))), nil
	}
	return "", fmt.Errorf("unsupported sign_type %q", signType)
}

// verifyV2 checks params["sign"], choosing the algorithm from sign_type, or
// from the signature's length when sign_type is absent (64 hex = HMAC).
func verifyV2(params map[string]string, apiKey []byte) error {
	sig := params["sign"]
	if sig == "" {
		return errors.New("no sign")
	}
	st := params["sign_type"]
	if st == "" && len(sig) == 64 {
		st = SignHMACSHA256
	}
	want, err := SignV2(params, apiKey, st)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToUpper(sig))) != 1 {
		return errors.New("signature mismatch")
	}
	return nil
}

// reqInfoKey is the AES-256 key of APIv2 refund notifications: the lowercase
// hex MD5 of the API key, used as 32 ASCII bytes.
func reqInfoKey(apiKey []byte) []byte {
	sum := md5.Sum(apiKey)
	return []byte(hex.EncodeToString(sum[:]))
}

// DecryptReqInfo decrypts an APIv2 refund notification's req_info: base64,
// AES-256-ECB under md5(API key), PKCS#7 padding.
func DecryptReqInfo(apiKey []byte, reqInfo string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(reqInfo)
	if err != nil {
		return nil, fmt.Errorf("decode req_info: %w", err)
	}
	block, err := aes.NewCipher(reqInfoKey(apiKey))
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(ct) == 0 || len(ct)%bs != 0 {
		return nil, errors.New("req_info is not a whole number of blocks")
	}
	pt := make([]byte, len(ct))
	for i := 0; i < len(ct); i += bs {
		block.Decrypt(pt[i:i+bs], ct[i:i+bs])
	}
	pad := int(pt[len(pt)-1])
	if pad == 0 || pad > bs {
		return nil, errors.New("bad padding")
	}
	for _, c := range pt[len(pt)-pad:] {
		if int(c) != pad {
			return nil, errors.New("bad padding")
		}
	}
	return pt[:len(pt)-pad], nil
}

// EncryptReqInfo is the inverse of [DecryptReqInfo], for the sandbox.
func EncryptReqInfo(apiKey []byte, plaintext []byte) string {
	block, err := aes.NewCipher(reqInfoKey(apiKey))
	if err != nil { // the derived key is always 32 bytes
		panic(err)
	}
	bs := block.BlockSize()
	pad := bs - len(plaintext)%bs
	pt := append(append([]byte(nil), plaintext...), []byte(strings.Repeat(string(rune(pad)), pad))...)
	ct := make([]byte, len(pt))
	for i := 0; i < len(pt); i += bs {
		block.Encrypt(ct[i:i+bs], pt[i:i+bs])
	}
	return base64.StdEncoding.EncodeToString(ct)
}

func atoi64(s string) (int64, error) {
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

// RequestMessage is the string a merchant signs for an APIv3 request:
// "{METHOD}\n{canonical URL: path?query}\n{timestamp}\n{nonce}\n{body}\n".
func RequestMessage(method, canonicalURL, timestamp, nonce string, body []byte) []byte {
	return []byte(method + "\n" + canonicalURL + "\n" + timestamp + "\n" + nonce + "\n" + string(body) + "\n")
}

// Authorization builds the APIv3 request header value
// "WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,timestamp=…,serial_no=…,signature=…".
// timestamp is Unix seconds.
func Authorization(key *rsa.PrivateKey, mchID, serial, method, canonicalURL, timestamp, nonce string, body []byte) (string, error) {
	sig, err := SignSHA256(key, RequestMessage(method, canonicalURL, timestamp, nonce, body))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		mchID, nonce, timestamp, serial, sig), nil
}

// A merchant's checkout code written with the providers' official Node
// SDKs (alipay-sdk, wechatpay-axios-plugin), pointed at the sandbox
// emulator. Run by TestOfficialNodeSDKs (officialsdk_test.go) with:
//
//   SANDBOX_URL   the emulator's base URL
//   SANDBOX_KEYS  the merchant's keys/ directory
//   SANDBOX_ID    the sandbox identity (sandbox/identity.json) as JSON
//   ALIPAY_TRADE, WECHAT_TRADE  an existing out_trade_no at each provider
//   BILL_DATE     a day the emulator holds (yyyy-MM-dd)
//   OUT_DIR       where the downloaded bills are written
//
// It prints one JSON line per check: {"check": name, ...what it saw} and
// exits non-zero on an exception. The Go test judges the lines.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');
const { AlipaySdk } = require('alipay-sdk');
const { Wechatpay, Aes } = require('wechatpay-axios-plugin');

const env = process.env;
const id = JSON.parse(env.SANDBOX_ID);
const key = (name) => fs.readFileSync(path.join(env.SANDBOX_KEYS, name), 'utf8');
const out = (check, v) => console.log(JSON.stringify({ check, ...v }));

async function alipay() {
  const sdk = new AlipaySdk({
    appId: id.alipay.app_id,
    privateKey: key('alipay_app_private.pem'),
    keyType: 'PKCS8',
    alipayPublicKey: key('alipay_public_key.txt').trim(),
    gateway: env.SANDBOX_URL + '/gateway.do',
    camelcase: false,
  });
  const opt = { validateSign: true };
  let r = await sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: env.ALIPAY_TRADE } }, opt);
  out('alipay query', { code: r.code, out_trade_no: r.out_trade_no, trade_status: r.trade_status, total_amount: r.total_amount });
  r = await sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: 'NO-SUCH-ORDER' } }, opt);
  out('alipay missing', { code: r.code, sub_code: r.sub_code });
  r = await sdk.exec('alipay.data.dataservice.bill.downloadurl.query',
    { bizContent: { bill_type: 'trade', bill_date: env.BILL_DATE } }, opt);
  out('alipay bill url', { code: r.code, has_url: !!r.bill_download_url });
  const res = await fetch(r.bill_download_url);
  const zip = Buffer.from(await res.arrayBuffer());
  fs.writeFileSync(path.join(env.OUT_DIR, 'alipay.csv.zip'), zip);
  out('alipay bill', { status: res.status, bytes: zip.length });
  // A wrong app key: the gateway refuses the signature.
  const wrong = new AlipaySdk({
    appId: id.alipay.app_id,
    privateKey: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    keyType: 'PKCS8',
    alipayPublicKey: key('alipay_public_key.txt').trim(),
    gateway: env.SANDBOX_URL + '/gateway.do',
    camelcase: false,
  });
  r = await wrong.exec('alipay.trade.query', { bizContent: { out_trade_no: env.ALIPAY_TRADE } }, opt);
  out('alipay bad signature', { code: r.code, sub_code: r.sub_code });
}

// wechat runs the WeChat Pay checks with one verification mode: certs is
// the SDK's {serial: key} map, headers are sent on every call.
async function wechat(mode, certs, headers) {
  const wxpay = new Wechatpay({
    mchid: id.wechatpay.mchid,
    serial: id.wechatpay.merchant_serial,
    privateKey: key('wechatpay_apiclient_key.pem'),
    certs,
    baseURL: env.SANDBOX_URL + '/',
    headers,
  });
  const mchid = id.wechatpay.mchid;
  let r = await wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid }, out_trade_no: env.WECHAT_TRADE });
  out('wechatpay query ' + mode, { status: r.status, serial: r.headers['wechatpay-serial'], out_trade_no: r.data.out_trade_no, trade_state: r.data.trade_state, total: r.data.amount.total });
  try {
    await wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid }, out_trade_no: 'NO-SUCH-ORDER' });
    out('wechatpay missing ' + mode, { status: 200 });
  } catch (e) {
    out('wechatpay missing ' + mode, { status: e.response && e.response.status, code: e.response && e.response.data && e.response.data.code });
  }
  r = await wxpay.v3.bill.tradebill.get({ params: { bill_date: env.BILL_DATE } });
  out('wechatpay bill url ' + mode, { status: r.status, hash_type: r.data.hash_type, has_url: !!r.data.download_url });
  const u = new URL(r.data.download_url);
  const file = await wxpay.v3.billdownload.file.get({ params: Object.fromEntries(u.searchParams), responseType: 'arraybuffer' });
  const plain = zlib.gunzipSync(Buffer.from(file.data));
  const sha1 = crypto.createHash('sha1').update(plain).digest('hex');
  fs.writeFileSync(path.join(env.OUT_DIR, 'wechatpay-' + mode + '.csv'), plain);
  out('wechatpay bill ' + mode, { status: file.status, hash_ok: sha1 === r.data.hash_value });
  // The platform certificates, sealed with the APIv3 key: opened with the
  // SDK's AES-GCM, each must be the certificate the merchant was given.
  r = await wxpay.v3.certificates.get();
  const ec = r.data.data[0].encrypt_certificate;
  const pemText = Aes.AesGcm.decrypt(ec.ciphertext, key('apiv3.key'), ec.nonce, ec.associated_data);
  out('wechatpay certificates ' + mode, { status: r.status, count: r.data.data.length, serial: r.data.data[0].serial_no,
    algorithm: ec.algorithm, same_pem: pemText.trim() === key('wechatpay_platform.pem').trim() });
}

(async () => {
  await alipay();
  // A merchant on platform certificates sends no Wechatpay-Serial.
  await wechat('platform', { [id.wechatpay.platform_serial]: key('wechatpay_platform.pem') }, {});
  // A merchant on the public key names it on every request.
  await wechat('public key', { [id.wechatpay.public_key_id]: key('wechatpay_pub_key.pem') },
    { 'Wechatpay-Serial': id.wechatpay.public_key_id });
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (e && e.response) console.error(e.response.status, JSON.stringify(e.response.data));
  process.exit(1);
});

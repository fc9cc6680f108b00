// The receiver's checks in a tight loop, without HTTP or Redis: the least they could cost a
// request (a server pays more: its caches are cold between requests). Usage, after
// `npm run build`: node bench/receiver/checks.mjs   (prints µs of CPU per request per step,
// twice: the second round is warm).
import { randomBytes } from "node:crypto";
import { signStandardWebhook, StandardWebhooksVerifier } from "../../dist/src/server/webhooks/verify/standard-webhooks.js";
import { parseExactJson } from "../../dist/src/server/webhooks/exact-json.js";
import { paymentsProvider } from "../../dist/src/server/webhooks/providers/payments.js";
import { AddressMatcher } from "../../dist/src/net/address-range.js";
import { resolveClientAddress } from "../../dist/src/net/client-address.js";
import { createLogger } from "../../dist/src/log.js";
import { Writable } from "node:stream";
const secret = `whsec_${randomBytes(24).toString("base64")}`;
const v = new StandardWebhooksVerifier([secret]);
const allow = AddressMatcher.fromList(["127.0.0.0/8", "::1/128"]);
const proxies = AddressMatcher.fromList([]);
const sink = new Writable({
  write(_c, _e, cb) {
    cb();
  },
});
const log = createLogger("info", {}, sink).child({}, { redact: [] });
const N = 50000;
const ts = Math.floor(Date.now() / 1000);
const reqs = Array.from({ length: N }, (_, i) => {
  const body = Buffer.from(
    JSON.stringify({
      referenceId: `ATK-TX-${i}`,
      amount: 1250.75,
      currency: "USD",
      bankTransactionId: `BTX-${i}`,
      timestamp: "2026-03-01T12:00:00Z",
      rail: "SEPA",
    }),
  );
  const h = { "webhook-id": `msg_${i}`, "webhook-timestamp": String(ts), "webhook-signature": signStandardWebhook(secret, `msg_${i}`, ts, body) };
  return { body, header: (n) => h[n] };
});
const td = new TextDecoder("utf-8", { fatal: true });
// The receiver's steps in its own order (src/server/webhooks/receiver.ts); metrics, routing and
// header reading are left out, so this is a floor.
const steps = {
  allowlist: (_r) => allow.matches(resolveClientAddress("127.0.0.1", undefined, proxies).address),
  signature: (r) => v.verify(r.header, r.body),
  parse: (r) => (r.json = parseExactJson(td.decode(r.body))),
  validate: (r) => {
    r.read = paymentsProvider.reader.parse(r.json);
    r.event = paymentsProvider.identify(r.read);
  },
  jobData: (r) => JSON.parse(JSON.stringify(r.read)),
  logLine: (r) =>
    log.info({ provider: "payments", outcome: "accepted", status: 202, jobId: r.event.jobId, eventId: r.event.eventId, latencyMs: 1.23 }, "webhook"),
};
for (let round = 0; round < 2; round++) {
  const out = {};
  for (const [name, f] of Object.entries(steps)) {
    const c0 = process.cpuUsage();
    for (const r of reqs) f(r);
    const c = process.cpuUsage(c0);
    out[name] = +((c.user + c.system) / N).toFixed(1);
  }
  out.total = +Object.values(out)
    .reduce((a, b) => a + b, 0)
    .toFixed(1);
  console.log(JSON.stringify(out));
}

import { randomBytes } from "node:crypto";
import { serve, type ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../src/config/index.js";
import { createLogger } from "../src/log.js";
import { createMetrics } from "../src/metrics.js";
import type { Clients } from "../src/processes/clients.js";
import { webhookRoutes } from "../src/server/webhooks/index.js";
import { metricsAuthHeader } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import {
  fireblocksV1Headers,
  fireblocksV2Headers,
  JwksStub,
  paymentBody,
  rsaKeyPair,
  SEED,
  standardHeaders,
  SUMSUB_DOCS,
  sumsubHeaders,
} from "./helpers/webhook-senders.js";

const whsec = () => `whsec_${randomBytes(24).toString("base64")}`;
const PAY_OLD = whsec();
const PAY_NEW = whsec();
const BAKKT = whsec();
const SUMSUB_OLD = "sumsub-old-secret";
const SUMSUB_NEW = "sumsub-new-secret";
const fbV1Old = rsaKeyPair();
const fbV1New = rsaKeyPair();
const fbV2 = rsaKeyPair();
const fbV2Rotated = rsaKeyPair();
const WEBHOOK_QUEUES: string[] = ["payments", "bakkt-webhooks", "kyc-sumsub", "custody-fireblocks"];

describe("webhook receiver", () => {
  let jwks: JwksStub;
  let stack: TestStack;
  let c: Clients;
  const extraServers: ServerType[] = [];

  const post = (path: string, body: string, headers: Record<string, string>, at = stack.base) =>
    fetch(`${at}/webhooks${path}`, { method: "POST", body, headers });
  const jobCount = async (queue: string) => {
    const counts = await c.queues.queue(queue).getJobCounts("waiting", "active", "delayed", "completed", "failed", "prioritized");
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };
  const allCounts = async () => Promise.all(WEBHOOK_QUEUES.map(jobCount));
  const securityHeaders = (res: Response) =>
    [...res.headers].filter(([name]) => !["content-type", "content-length", "date", "connection", "keep-alive"].includes(name));

  beforeAll(async () => {
    jwks = await JwksStub.start();
    await jwks.publish("fb-key-1", fbV2.privateKey);
    stack = await startStack("webhooks", {
      env: {
        PAYMENTS_WEBHOOK_SECRETS: `${PAY_OLD},${PAY_NEW}`,
        BAKKT_WEBHOOK_SECRETS: BAKKT,
        SUMSUB_WEBHOOK_SECRETS: `${SUMSUB_OLD},${SUMSUB_NEW}`,
        FIREBLOCKS_PUBLIC_KEYS: [fbV1Old.publicPem, fbV1New.publicPem].join(","),
        FIREBLOCKS_JWKS_URL: jwks.url,
        FIREBLOCKS_JWKS_COOLDOWN_MS: "0",
        WEBHOOK_MAX_BYTES: "4096",
      },
      web: true,
    });
    c = stack.c;
  });

  afterAll(async () => {
    // The variant servers use the stack's queues: they close first.
    await Promise.all(extraServers.map((s) => new Promise((r) => s.close(r))));
    await stack?.close();
    await jwks.stop();
  });

  /** Serve the webhook routes alone, with some settings changed, on the same Redis queues. */
  const serveVariant = async (overrides: Partial<Config>, log = createLogger("silent")) => {
    const app = webhookRoutes({ config: { ...c.config, ...overrides }, queues: c.queues, metrics: createMetrics(), log });
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    });
    extraServers.push(server);
    const port = (server.address() as { port: number }).port;
    // The variant app has no /webhooks prefix: give post() a base that ends where the mount would.
    return `http://127.0.0.1:${port}`;
  };
  const postVariant = (at: string, path: string, body: string, headers: Record<string, string>) => fetch(`${at}${path}`, { method: "POST", body, headers });

  describe("payments (Standard Webhooks)", () => {
    it("valid -> 202 and exactly one job with the expected id and data; again -> 200 duplicate", async () => {
      const body = paymentBody({ bankTransactionId: "BTX-0001", amount: 2500.5, rail: "FedNow" });
      const res = await post("/payments", body, standardHeaders(PAY_NEW, body));
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ jobId: "pay-BTX-0001.payment%2Ecompleted" });
      // The receiver builds its answers' headers itself (the hot path): the same security headers as every other answer.
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(securityHeaders(res)).toEqual(securityHeaders(await fetch(`${stack.base}/healthz`)));
      const job = await c.queues.queue("payments").getJob("pay-BTX-0001.payment%2Ecompleted");
      expect(job?.name).toBe("payment.completed");
      expect(job?.data).toEqual({
        eventId: "BTX-0001",
        receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        payload: {
          referenceId: "ATK-TX-10001",
          amount: "2500.5",
          currency: "USD",
          bankTransactionId: "BTX-0001",
          timestamp: "2026-03-01T12:00:00Z",
          type: "payment.completed",
          rail: "FEDNOW",
        },
      });
      expect(JSON.stringify(job?.data)).not.toContain("sig-as-the-playbook");
      expect(await jobCount("payments")).toBe(1);

      // A redelivery: new webhook-id and timestamp, same event.
      const again = await post("/payments", body, standardHeaders(PAY_NEW, body));
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ jobId: "pay-BTX-0001.payment%2Ecompleted", duplicate: true });
      expect(await jobCount("payments")).toBe(1);
    });

    it("keeps amounts exact: decimals are read from the JSON text, never through a float", async () => {
      const raw = `{"referenceId":"ATK-TX-2","amount":1234567890123456789.10,"currency":"EUR","bankTransactionId":"BTX-exact","timestamp":"2026-03-01T12:00:00Z","type":"payment.failed"}`;
      const res = await post("/payments", raw, standardHeaders(PAY_OLD, raw));
      expect(res.status).toBe(202);
      const job = await c.queues.queue("payments").getJob("pay-BTX-exact.payment%2Efailed");
      expect((job!.data.payload as { amount: string }).amount).toBe("1234567890123456789.10");
      const exp = `{"referenceId":"ATK-TX-3","amount":"1.5e3","currency":"EUR","bankTransactionId":"BTX-exp","timestamp":"2026-03-01T12:00:00Z"}`;
      expect((await post("/payments", exp, standardHeaders(PAY_OLD, exp))).status).toBe(400);
      const expNumber = `{"referenceId":"ATK-TX-3","amount":1.5e3,"currency":"EUR","bankTransactionId":"BTX-exp","timestamp":"2026-03-01T12:00:00Z"}`;
      expect((await post("/payments", expNumber, standardHeaders(PAY_OLD, expNumber))).status).toBe(202);
      expect(((await c.queues.queue("payments").getJob("pay-BTX-exp.payment%2Ecompleted"))!.data.payload as { amount: string }).amount).toBe("1500");
    });

    it("accepts both secrets of a rotated list, rejects anything else with 401 and enqueues nothing", async () => {
      const before = await allCounts();
      const body = paymentBody({ bankTransactionId: "BTX-rot" });
      const wrong = await post("/payments", body, standardHeaders(whsec(), body));
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ error: "invalid signature" });
      const tampered = standardHeaders(PAY_OLD, body);
      expect((await post("/payments", body.replace("ATK-TX-10001", "ATK-TX-99999"), tampered)).status).toBe(401);
      const missing = standardHeaders(PAY_OLD, body);
      delete missing["webhook-signature"];
      expect((await post("/payments", body, missing)).status).toBe(401);
      const stale = standardHeaders(PAY_OLD, body, { timestamp: Math.floor(Date.now() / 1000) - 301 });
      expect((await post("/payments", body, stale)).status).toBe(401);
      const future = standardHeaders(PAY_OLD, body, { timestamp: Math.floor(Date.now() / 1000) + 301 });
      expect((await post("/payments", body, future)).status).toBe(401);
      expect(await allCounts()).toEqual(before);

      expect((await post("/payments", body, standardHeaders(PAY_OLD, body))).status).toBe(202);
      const body2 = paymentBody({ bankTransactionId: "BTX-rot2" });
      // A sender mid-rotation lists two signatures; the one made with the new secret matches.
      const h = standardHeaders(PAY_NEW, body2);
      h["webhook-signature"] = `v1,${randomBytes(32).toString("base64")} ${h["webhook-signature"]}`;
      expect((await post("/payments", body2, h)).status).toBe(202);
    });

    it("answers 400 with what is invalid, 415 for non-JSON, 413 when too large", async () => {
      const before = await allCounts();
      const bad = paymentBody({ bankTransactionId: "BTX-bad", amount: "12,50", currency: "usd", rail: "PIGEON" });
      const res = await post("/payments", bad, standardHeaders(PAY_OLD, bad));
      expect(res.status).toBe(400);
      const issues = ((await res.json()) as { issues: string[] }).issues.join("\n");
      expect(issues).toContain("amount:");
      expect(issues).toContain("currency:");
      expect(issues).toContain("rail:");
      const notJson = "{not json";
      expect((await post("/payments", notJson, standardHeaders(PAY_OLD, notJson))).status).toBe(400);
      const form = "a=1";
      expect((await post("/payments", form, { ...standardHeaders(PAY_OLD, form), "content-type": "application/x-www-form-urlencoded" })).status).toBe(415);
      const big = paymentBody({ bankTransactionId: "BTX-big", note: "x".repeat(5000) });
      const tooBig = await post("/payments", big, standardHeaders(PAY_OLD, big));
      expect(tooBig.status).toBe(413);
      // Answered before the rest of the body is read: the connection is closed, not drained.
      expect(tooBig.headers.get("connection")).toBe("close");
      expect(securityHeaders(tooBig)).toEqual(securityHeaders(res));
      expect(await allCounts()).toEqual(before);
    });
  });

  describe("bakkt (Standard Webhooks)", () => {
    it("accepts every example of the broker document as printed, one job per distinct event", async () => {
      const ids = new Set<string>();
      for (const [label, body] of Object.entries(SEED)) {
        const res = await post("/bakkt", body, standardHeaders(BAKKT, body));
        expect(res.status, label).toBe(202);
        ids.add(((await res.json()) as { jobId: string }).jobId);
      }
      expect(ids.size).toBe(Object.keys(SEED).length);
      expect(await jobCount("bakkt-webhooks")).toBe(Object.keys(SEED).length);
      const fiat = await c.queues
        .queue("bakkt-webhooks")
        .getJob("bakkt-ba5d8540-6n78-44d8-921b-aeca5caf16g8.FIAT_EVENT.5167d1e5-1ff9-49bd-86a2-38d8116c7d67.PENDING");
      expect(fiat?.data.eventId).toBe("ba5d8540-6n78-44d8-921b-aeca5caf16g8");
      expect(fiat?.data.payload).toEqual(
        expect.objectContaining({
          webhookType: "FIAT_EVENT",
          partnerWebhookType: "FIAT_EVENT",
          fiatEvent: expect.objectContaining({ amount: "100", currency: "USD", transactionStatus: "PENDING" }),
        }),
      );

      const again = await post("/bakkt", SEED.bakktAchCompleted, standardHeaders(BAKKT, SEED.bakktAchCompleted));
      expect(again.status).toBe(200);
      expect(((await again.json()) as { duplicate: boolean }).duplicate).toBe(true);
      expect(await jobCount("bakkt-webhooks")).toBe(Object.keys(SEED).length);
    });

    it("reads the field list's flat webhookType form and rejects unknown enums", async () => {
      const flat = JSON.stringify({
        requestId: "req-flat-1",
        partnerPartyRef: "P-1",
        webhookType: "FIAT_EVENT",
        amount: 250.75,
        currency: "USD",
        transactionId: "T-1",
        fiatTransactType: "WITHDRAW",
        instrumentType: "WIRE",
        transactionStatus: "COMPLETED",
      });
      const res = await post("/bakkt", flat, standardHeaders(BAKKT, flat));
      expect(res.status).toBe(202);
      const job = await c.queues.queue("bakkt-webhooks").getJob(((await res.json()) as { jobId: string }).jobId);
      // The flat fields are kept as sent; the reader also puts the fiat event where the processor reads it.
      expect(job?.data.payload).toEqual(
        expect.objectContaining({ amount: 250.75, webhookType: "FIAT_EVENT", fiatEvent: expect.objectContaining({ amount: "250.75", transactionId: "T-1" }) }),
      );
      const unknown = SEED.bakktAchPending.replace('"ACH"', '"CARRIER_PIGEON"');
      const bad = await post("/bakkt", unknown, standardHeaders(BAKKT, unknown));
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { issues: string[] }).issues[0]).toMatch(/^fiatEvent\.instrumentType:/);
      const wrong = await post("/bakkt", SEED.bakktActive, standardHeaders(PAY_OLD, SEED.bakktActive));
      expect(wrong.status).toBe(401);
    });
  });

  describe("sumsub (X-Payload-Digest)", () => {
    const review = (over: Record<string, unknown> = {}) =>
      JSON.stringify({
        applicantId: "5cb56e8e0a975a35f333cb83",
        inspectionId: "5cb56e8e0a975a35f333cb84",
        correlationId: "req-a260b669-4f14-4bb5-a4c5-ac0218acb9a4",
        externalUserId: "investor-42",
        levelName: "basic-kyc-level",
        type: "applicantReviewed",
        reviewResult: { reviewAnswer: "RED", rejectLabels: ["FORGERY"], reviewRejectType: "FINAL" },
        reviewStatus: "completed",
        createdAtMs: "2020-02-21 13:23:19.321",
        ...over,
      });

    it("verifies SHA1/SHA256/SHA512 digests with either rotated secret; duplicates are 200", async () => {
      const body = review();
      const res = await post("/kyc/sumsub", body, sumsubHeaders(SUMSUB_OLD, body, "HMAC_SHA256_HEX"));
      expect(res.status).toBe(202);
      const { jobId } = (await res.json()) as { jobId: string };
      expect(jobId).toBe("sumsub-5cb56e8e0a975a35f333cb83.applicantReviewed.2020-02-21%2013%3A23%3A19%2E321");
      const job = await c.queues.queue("kyc-sumsub").getJob(jobId);
      expect(job?.data.payload).toEqual(JSON.parse(body));
      for (const alg of ["HMAC_SHA1_HEX", "HMAC_SHA512_HEX"]) {
        const dup = await post("/kyc/sumsub", body, sumsubHeaders(SUMSUB_NEW, body, alg));
        expect(dup.status).toBe(200);
      }
      expect(await jobCount("kyc-sumsub")).toBe(1);
      const pending = review({ type: "applicantPending", reviewResult: undefined, createdAtMs: 1700000000000 });
      expect((await post("/kyc/sumsub", pending, sumsubHeaders(SUMSUB_NEW, pending, "HMAC_SHA512_HEX"))).status).toBe(202);
      expect(await jobCount("kyc-sumsub")).toBe(2);
    });

    it("accepts Sumsub's documented examples as printed, and null attributes on events without a review", async () => {
      for (const [label, body] of Object.entries(SUMSUB_DOCS)) {
        const res = await post("/kyc/sumsub", body, sumsubHeaders(SUMSUB_NEW, body));
        // The reviewed example shares its identity with the first test's event: a duplicate.
        expect(res.status, label).toBe(label === "applicantReviewed" ? 200 : 202);
        const job = await c.queues.queue("kyc-sumsub").getJob(((await res.json()) as { jobId: string }).jobId);
        if (label !== "applicantReviewed") expect(job?.data.payload, label).toEqual(JSON.parse(body));
      }
      // A review answer is still required where the event is the verdict.
      for (const type of ["applicantReviewed", "applicantActionReviewed"]) {
        const body = SUMSUB_DOCS.pendingAsDelivered.replace('"applicantPending"', `"${type}"`);
        const res = await post("/kyc/sumsub", body, sumsubHeaders(SUMSUB_NEW, body));
        expect(res.status, type).toBe(400);
        expect(((await res.json()) as { issues: string[] }).issues).toEqual([`reviewResult: required for ${type}`]);
      }
    });

    it("401 for a wrong secret, a tampered body, a missing or unknown algorithm; 400 for a bad review answer", async () => {
      const before = await allCounts();
      const body = review({ createdAtMs: "2021-01-01 00:00:00.000" });
      expect((await post("/kyc/sumsub", body, sumsubHeaders("nope", body))).status).toBe(401);
      expect((await post("/kyc/sumsub", body.replace("RED", "GREEN"), sumsubHeaders(SUMSUB_OLD, body))).status).toBe(401);
      const noAlg = sumsubHeaders(SUMSUB_OLD, body);
      delete noAlg["x-payload-digest-alg"];
      expect((await post("/kyc/sumsub", body, noAlg)).status).toBe(401);
      expect((await post("/kyc/sumsub", body, { ...sumsubHeaders(SUMSUB_OLD, body), "x-payload-digest-alg": "HMAC_MD5_HEX" })).status).toBe(401);
      const yellow = review({ reviewResult: { reviewAnswer: "YELLOW" } });
      const res = await post("/kyc/sumsub", yellow, sumsubHeaders(SUMSUB_OLD, yellow));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { issues: string[] }).issues).toEqual(["reviewResult.reviewAnswer: expected GREEN or RED"]);
      expect(await allCounts()).toEqual(before);
    });
  });

  describe("fireblocks (v1 RSA-SHA512, v2 detached JWS)", () => {
    const v1 = (status: string, id = "tx-3f1c") =>
      JSON.stringify({
        type: "TRANSACTION_STATUS_UPDATED",
        tenantId: "t-1",
        timestamp: 1700000000000,
        data: { id, status, subStatus: "", txHash: "0xabc", amount: 0.1, assetId: "ETH" },
      });
    const v2 = (status: string, id = "tx-9a2e") =>
      JSON.stringify({
        id: `evt-${id}-${status}`,
        eventType: "transaction.status.updated",
        eventVersion: 1,
        resourceId: id,
        createdAt: 1700000000000,
        workspaceId: "ws-1",
        data: { id, status, subStatus: "", txHash: "0xdef" },
      });

    it("v1: both configured public keys verify; the same status again is a duplicate; a new status is a new job", async () => {
      const body = v1("CONFIRMING");
      const res = await post("/custody/fireblocks", body, fireblocksV1Headers(fbV1Old.privateKey, body));
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ jobId: "fb-tx-3f1c.CONFIRMING." });
      expect((await post("/custody/fireblocks", body, fireblocksV1Headers(fbV1New.privateKey, body))).status).toBe(200);
      const done = v1("COMPLETED");
      expect((await post("/custody/fireblocks", done, fireblocksV1Headers(fbV1New.privateKey, done))).status).toBe(202);
      const job = await c.queues.queue("custody-fireblocks").getJob("fb-tx-3f1c.COMPLETED.");
      expect(job?.name).toBe("TRANSACTION_STATUS_UPDATED");
      expect(job?.data).toEqual(expect.objectContaining({ eventId: "tx-3f1c/COMPLETED", payload: JSON.parse(done) }));
      const stranger = rsaKeyPair();
      expect((await post("/custody/fireblocks", done, fireblocksV1Headers(stranger.privateKey, done))).status).toBe(401);
    });

    it("v2: verifies against the JWKS, refetches it for an unknown kid, rejects a key it does not publish", async () => {
      const body = v2("COMPLETED");
      const res = await post("/custody/fireblocks", body, await fireblocksV2Headers(fbV2.privateKey, "fb-key-1", body));
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ jobId: "fb-tx-9a2e.COMPLETED." });
      expect((await c.queues.queue("custody-fireblocks").getJob("fb-tx-9a2e.COMPLETED."))?.data.eventId).toBe("evt-tx-9a2e-COMPLETED");
      expect((await post("/custody/fireblocks", body, await fireblocksV2Headers(fbV2.privateKey, "fb-key-1", body))).status).toBe(200);

      // Fireblocks rotates: a new kid appears in the JWKS; the cached set does not have it yet.
      const fetchesBefore = jwks.fetches;
      await jwks.publish("fb-key-2", fbV2Rotated.privateKey);
      const next = v2("COMPLETED", "tx-rotated");
      expect((await post("/custody/fireblocks", next, await fireblocksV2Headers(fbV2Rotated.privateKey, "fb-key-2", next))).status).toBe(202);
      expect(jwks.fetches).toBeGreaterThan(fetchesBefore);

      const before = await allCounts();
      const forged = v2("COMPLETED", "tx-forged");
      expect((await post("/custody/fireblocks", forged, await fireblocksV2Headers(rsaKeyPair().privateKey, "fb-key-1", forged))).status).toBe(401);
      expect((await post("/custody/fireblocks", forged, await fireblocksV2Headers(rsaKeyPair().privateKey, "no-such-kid", forged))).status).toBe(401);
      const signed = await fireblocksV2Headers(fbV2.privateKey, "fb-key-1", forged);
      expect((await post("/custody/fireblocks", forged.replace("COMPLETED", "FAILED"), signed)).status).toBe(401);
      expect((await post("/custody/fireblocks", forged, { "content-type": "application/json" })).status).toBe(401);
      expect(await allCounts()).toEqual(before);
    });

    it("v1 and v2 delivering the same change during a migration make one job", async () => {
      const a = v1("BROADCASTING", "tx-both");
      const b = v2("BROADCASTING", "tx-both");
      expect((await post("/custody/fireblocks", a, fireblocksV1Headers(fbV1Old.privateKey, a))).status).toBe(202);
      expect((await post("/custody/fireblocks", b, await fireblocksV2Headers(fbV2.privateKey, "fb-key-1", b))).status).toBe(200);
    });
  });

  describe("sender addresses", () => {
    it("403 for a peer outside the allowlist, and for a spoofed X-Forwarded-For from an untrusted peer", async () => {
      const at = await serveVariant({ PAYMENTS_IP_ALLOWLIST: ["203.0.113.0/24"], TRUSTED_PROXIES: [] });
      const before = await allCounts();
      const body = paymentBody({ bankTransactionId: "BTX-ip-1" });
      expect((await postVariant(at, "/payments", body, standardHeaders(PAY_OLD, body))).status).toBe(403);
      const spoofed = await postVariant(at, "/payments", body, { ...standardHeaders(PAY_OLD, body), "x-forwarded-for": "203.0.113.9" });
      expect(spoofed.status).toBe(403);
      expect(await spoofed.json()).toEqual({ error: "address not allowed" });
      expect(await allCounts()).toEqual(before);
    });

    it("believes X-Forwarded-For from a trusted proxy: right-most untrusted hop is the client, IPv4-mapped IPv6 matches IPv4", async () => {
      const at = await serveVariant({ PAYMENTS_IP_ALLOWLIST: ["203.0.113.0/24", "2001:db8::/32"], TRUSTED_PROXIES: ["127.0.0.1/32", "10.0.0.0/8"] });
      const send = (xff: string, id: string) => {
        const body = paymentBody({ bankTransactionId: id });
        return postVariant(at, "/payments", body, { ...standardHeaders(PAY_OLD, body), "x-forwarded-for": xff });
      };
      expect((await send("203.0.113.9", "BTX-xff-1")).status).toBe(202);
      expect((await send("203.0.113.9, 10.1.2.3", "BTX-xff-2")).status).toBe(202); // through a second trusted proxy
      expect((await send("203.0.113.9, 198.51.100.7", "BTX-xff-3")).status).toBe(403); // client-written left part is ignored
      expect((await send("198.51.100.7, 203.0.113.9", "BTX-xff-4")).status).toBe(202);
      expect((await send("::ffff:203.0.113.10", "BTX-xff-5")).status).toBe(202);
      expect((await send("2001:db8::7", "BTX-xff-6")).status).toBe(202);
      expect((await send("not-an-ip", "BTX-xff-7")).status).toBe(403);
      // Without the header the trusted proxy itself is the client, and it is not allowed.
      const body = paymentBody({ bankTransactionId: "BTX-xff-8" });
      expect((await postVariant(at, "/payments", body, standardHeaders(PAY_OLD, body))).status).toBe(403);
    });

    it("an allowlist is checked before anything else: a forbidden peer gets 403 even with a huge body", async () => {
      const at = await serveVariant({ BAKKT_IP_ALLOWLIST: ["::ffff:192.0.2.0/120"] });
      const res = await postVariant(at, "/bakkt", "x".repeat(10_000), { "content-type": "text/plain" });
      expect(res.status).toBe(403);
      const local = await serveVariant({ BAKKT_IP_ALLOWLIST: ["127.0.0.0/8"] });
      expect((await postVariant(local, "/bakkt", SEED.bakktActive, standardHeaders(BAKKT, SEED.bakktActive))).status).toBe(200);
    });
  });

  it("logs one JSON line per request with provider, outcome, job id and latency; never a secret, signature or payload", async () => {
    const written: string[] = [];
    const at = await serveVariant({}, createLogger("info", {}, { write: (line: string) => void written.push(line) }));
    const body = paymentBody({ bankTransactionId: "BTX-logged", referenceId: "ATK-TX-secretive", amount: 777.25 });
    const headers = standardHeaders(PAY_NEW, body);
    expect((await postVariant(at, "/payments", body, headers)).status).toBe(202);
    const forged = { ...headers, "webhook-signature": "v1,Zm9yZ2VkLXNpZ25hdHVyZS12YWx1ZQ==" };
    expect((await postVariant(at, "/payments", body.replace("777.25", "777.26"), forged)).status).toBe(401);

    const lines = written.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "webhook");
    expect(lines).toEqual([
      expect.objectContaining({
        provider: "payments",
        outcome: "accepted",
        status: 202,
        jobId: "pay-BTX-logged.payment%2Ecompleted",
        eventId: "BTX-logged",
        latencyMs: expect.any(Number),
      }),
      expect.objectContaining({
        provider: "payments",
        outcome: "unauthorized",
        status: 401,
        latencyMs: expect.any(Number),
        detail: expect.stringContaining("no_match"),
      }),
    ]);
    const text = written.join("");
    for (const secretish of [PAY_NEW, PAY_NEW.slice(6), headers["webhook-signature"]!, forged["webhook-signature"], "ATK-TX-secretive", "777.2"]) {
      expect(text).not.toContain(secretish);
    }
  });

  it("exports request counts by provider and outcome and a latency histogram on /metrics", async () => {
    const text = await (await fetch(`${stack.base}/metrics`, { headers: metricsAuthHeader })).text();
    expect(text).toMatch(/hookrail_webhook_requests_total\{provider="payments",outcome="accepted"\} [1-9]/);
    expect(text).toMatch(/hookrail_webhook_requests_total\{provider="payments",outcome="unauthorized"\} [1-9]/);
    expect(text).toMatch(/hookrail_webhook_requests_total\{provider="bakkt",outcome="duplicate"\} [1-9]/);
    expect(text).toMatch(/hookrail_webhook_requests_total\{provider="fireblocks",outcome="accepted"\} [1-9]/);
    expect(text).toContain('hookrail_webhook_receive_seconds_bucket{le="0.005",provider="sumsub",outcome="accepted"}');
    expect(text).toContain("process_cpu_user_seconds_total");
  });
});

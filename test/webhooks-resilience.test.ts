import { randomBytes } from "node:crypto";
import { serve, type ServerType } from "@hono/node-server";
import fc from "fast-check";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../src/config/index.js";
import { startRedisServer, type EmbeddedRedis } from "../src/dev/embedded-redis.js";
import { createLogger } from "../src/log.js";
import { createMetrics } from "../src/metrics.js";
import { QUEUE_MODULES } from "../src/processes/queue-modules.js";
import { createQueueSet, type QueueSet } from "../src/queues/queue-set.js";
import { createRedis, waitReady } from "../src/redis/connection.js";
import { webhookRoutes } from "../src/server/webhooks/index.js";
import { cleanup, testConfig, TEST_REDIS_URL, uniqueName } from "./helpers/env.js";
import {
  fireblocksV1Headers,
  jumioCallback,
  jumioHeaders,
  JwksStub,
  onfidoEvent,
  onfidoHeaders,
  paymentBody,
  rsaKeyPair,
  SEED,
  standardHeaders,
  SUMSUB_DOCS,
  sumsubHeaders,
  TRULIOO_DOCS,
  truliooHeaders,
} from "./helpers/webhook-senders.js";

const name = uniqueName("webhooks_res");
const PAY = `whsec_${randomBytes(24).toString("base64")}`;
const BAKKT = `whsec_${randomBytes(24).toString("base64")}`;
const SUMSUB = "sumsub-secret";
const ONFIDO = "onfido-webhook-token";
const TRULIOO = "trulioo-webhook-secret";
const JUMIO = "jumio:callback-password";
const fb = rsaKeyPair();
const QUEUES: string[] = ["payments", "bakkt-webhooks", "kyc-sumsub", "kyc-onfido", "kyc-trulioo", "kyc-jumio", "custody-fireblocks"];
/** Documented examples of every provider, as bodies to start from. */
const SAMPLES = [
  ...Object.values(SEED),
  ...Object.values(SUMSUB_DOCS),
  ...Object.values(TRULIOO_DOCS),
  onfidoEvent("check.completed", "8546921-123123-123123"),
  jumioCallback({ accountId: "acc-1", executionId: "exec-1", status: "PROCESSED", userReference: "inv-1" }),
  paymentBody(),
];

async function serveRoutes(config: Config, queues: QueueSet): Promise<{ server: ServerType; base: string }> {
  const app = webhookRoutes({ config, queues, metrics: createMetrics(), log: createLogger("silent") });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

const closeServer = (s: ServerType) => new Promise((r) => s.close(r));

describe("webhook receiver when Redis is unavailable", () => {
  let redis: EmbeddedRedis;
  let producer: Redis;
  let queues: QueueSet;
  let server: ServerType;
  let base: string;

  beforeAll(async () => {
    // A Redis of this test's own: the shared one is never paused or stopped.
    redis = await startRedisServer();
    producer = createRedis(redis.url, "producer");
    producer.on("error", () => {});
    await waitReady(producer);
    queues = createQueueSet(producer, name, QUEUE_MODULES);
    ({ server, base } = await serveRoutes(testConfig(name, { REDIS_URL: redis.url, PAYMENTS_WEBHOOK_SECRETS: PAY }), queues));
  });

  afterAll(async () => {
    await closeServer(server);
    await queues.close().catch(() => {});
    producer.disconnect();
    await redis.stop();
  });

  const send = (id: string) => {
    const body = paymentBody({ bankTransactionId: id });
    return fetch(`${base}/payments`, { method: "POST", body, headers: standardHeaders(PAY, body) });
  };

  it("answers 503 after 2 s when Redis does not answer, and the provider's retry then finds the job", async () => {
    expect((await send("BTX-up")).status).toBe(202);
    const admin = createRedis(redis.url, "worker");
    await admin.call("CLIENT", "PAUSE", "3500", "ALL");
    const started = Date.now();
    const res = await send("BTX-paused");
    const took = Date.now() - started;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "queue unavailable, retry later" });
    expect(took).toBeGreaterThanOrEqual(1_900);
    expect(took).toBeLessThan(3_000);
    // The add was sent before the timeout and lands when Redis resumes: the retry is a duplicate.
    await new Promise((r) => setTimeout(r, 2_000));
    const retry = await send("BTX-paused");
    expect(retry.status).toBe(200);
    admin.disconnect();
  });

  it("answers 503 within 3 s when Redis is stopped", async () => {
    await redis.stop();
    const started = Date.now();
    const res = await send("BTX-down");
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe("webhook receiver under random input (property-based)", () => {
  let producer: Redis;
  let queues: QueueSet;
  let server: ServerType;
  let base: string;
  let jwks: JwksStub;
  const pname = `${name}_p`;

  beforeAll(async () => {
    jwks = await JwksStub.start();
    await jwks.publish("k1", rsaKeyPair().privateKey);
    producer = createRedis(TEST_REDIS_URL, "producer");
    await waitReady(producer);
    queues = createQueueSet(producer, pname, QUEUE_MODULES);
    ({ server, base } = await serveRoutes(
      testConfig(pname, {
        PAYMENTS_WEBHOOK_SECRETS: PAY,
        BAKKT_WEBHOOK_SECRETS: BAKKT,
        SUMSUB_WEBHOOK_SECRETS: SUMSUB,
        ONFIDO_WEBHOOK_SECRETS: ONFIDO,
        TRULIOO_WEBHOOK_SECRETS: TRULIOO,
        // The test's requests come from loopback: the Jumio route is on for them.
        JUMIO_IP_ALLOWLIST: "127.0.0.0/8,::1/128",
        JUMIO_CALLBACK_CREDENTIALS: JUMIO,
        FIREBLOCKS_PUBLIC_KEYS: fb.publicPem,
        FIREBLOCKS_JWKS_URL: jwks.url,
        FIREBLOCKS_JWKS_COOLDOWN_MS: "0",
        WEBHOOK_MAX_BYTES: "2048",
      }),
      queues,
    ));
  });

  afterAll(async () => {
    await closeServer(server);
    await queues.close();
    producer.disconnect();
    await jwks.stop();
    await cleanup(pname);
  });

  const jobIds = async () => (await Promise.all(QUEUES.map((q) => queues.queue(q).getJobs()))).flat().map((j) => j.id);

  const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((n) => String.fromCharCode(n)), maxLength: 120 });
  const b64ish = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("base64"));
  const headerValue = fc.oneof(
    ascii,
    b64ish.map((s) => `v1,${s}`),
    fc.tuple(b64ish, b64ish).map(([a, b]) => `${a.replace(/=/g, "")}..${b.replace(/=/g, "")}`),
    fc.constant(`${Buffer.from(JSON.stringify({ alg: "RS512", kid: "k1" })).toString("base64url")}..${randomBytes(256).toString("base64url")}`),
    fc.integer({ min: 0, max: 2 ** 40 }).map(String),
    fc.constant(String(Math.floor(Date.now() / 1000))),
    fc.constantFrom("HMAC_SHA1_HEX", "HMAC_SHA256_HEX", "HMAC_SHA512_HEX"),
    fc.uint8Array({ minLength: 20, maxLength: 64 }).map((b) => Buffer.from(b).toString("hex")),
  );
  const headers = fc.record(
    {
      "content-type": fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/vnd.x+json", ""),
      "webhook-id": headerValue,
      "webhook-timestamp": headerValue,
      "webhook-signature": headerValue,
      "x-payload-digest": headerValue,
      "x-payload-digest-alg": headerValue,
      "fireblocks-signature": headerValue,
      "fireblocks-webhook-signature": headerValue,
      "x-sha2-signature": headerValue,
      "x-trulioo-signature": headerValue,
      authorization: fc.oneof(
        headerValue,
        headerValue.map((v) => `Basic ${Buffer.from(v).toString("base64")}`),
      ),
      "x-forwarded-for": headerValue,
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    fc.json().map((s) => Buffer.from(s)),
    fc.string().map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
    fc.constantFrom(...SAMPLES).map((s) => Buffer.from(s)),
  );
  const route = fc.constantFrom("/payments", "/bakkt", "/kyc/sumsub", "/kyc/onfido", "/kyc/trulioo", "/kyc/jumio", "/custody/fireblocks");

  it("random bodies and headers: never a 5xx other than 503, never an enqueue without a valid signature", async () => {
    await fc.assert(
      fc.asyncProperty(route, headers, body, async (path, h, b) => {
        const clean = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== ""));
        const res = await fetch(`${base}${path}`, { method: "POST", body: b, headers: clean });
        await res.arrayBuffer();
        expect(res.status >= 500 ? res.status : 503).toBe(503);
        expect([200, 202]).not.toContain(res.status);
      }),
      { numRuns: 250 },
    );
    expect(await jobIds()).toEqual([]);
  });

  it("validly signed random payloads: 202/200 or 400, never 5xx, and a job exists exactly for each 2xx", async () => {
    const accepted = new Set<string>();
    const fields = fc.dictionary(
      fc.constantFrom(
        "amount",
        "currency",
        "bankTransactionId",
        "referenceId",
        "timestamp",
        "type",
        "rail",
        "requestId",
        "partnerPartyRef",
        "webhookType",
        "partyStatus",
        "applicantId",
        "externalUserId",
        "createdAtMs",
        "data",
        "eventType",
        "payload",
        "event",
        "serviceData",
        "challenge",
        "workflowExecution",
        "account",
        "callbackSentAt",
      ),
      fc.jsonValue(),
      { maxKeys: 8 },
    );
    const payload = fc.oneof(
      fc.json(),
      fc.tuple(fc.constantFrom(...SAMPLES), fields).map(([seed, over]) => JSON.stringify({ ...JSON.parse(seed), ...over })),
    );
    await fc.assert(
      fc.asyncProperty(route, payload, async (path, text) => {
        const signers: Record<string, () => Record<string, string>> = {
          "/payments": () => standardHeaders(PAY, text),
          "/bakkt": () => standardHeaders(BAKKT, text),
          "/kyc/sumsub": () => sumsubHeaders(SUMSUB, text),
          "/kyc/onfido": () => onfidoHeaders(ONFIDO, text),
          "/kyc/trulioo": () => truliooHeaders(TRULIOO, text),
          "/kyc/jumio": () => jumioHeaders(JUMIO),
          "/custody/fireblocks": () => fireblocksV1Headers(fb.privateKey, text),
        };
        const res = await fetch(`${base}${path}`, { method: "POST", body: text, headers: signers[path]!() });
        const answer = (await res.json()) as { jobId?: string; challenge?: string };
        expect([200, 202, 400, 413]).toContain(res.status);
        // Trulioo's handshake is answered with its challenge and enqueues nothing.
        if (res.status === 200 && path === "/kyc/trulioo" && answer.challenge !== undefined) expect(answer.jobId).toBeUndefined();
        else if (res.status < 300) accepted.add(answer.jobId!);
      }),
      { numRuns: 250 },
    );
    expect(accepted.size).toBeGreaterThan(0);
    expect((await jobIds()).sort()).toEqual([...accepted].sort());
  });
});

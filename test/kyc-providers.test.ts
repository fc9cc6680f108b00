import { randomUUID } from "node:crypto";
import { serve, type ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../src/config/index.js";
import { jumioExecution, startJumioStub, type JumioStub } from "../src/dev/stubs/jumio.js";
import { onfidoCheck, startOnfidoStub, type OnfidoStub } from "../src/dev/stubs/onfido.js";
import { createLogger } from "../src/log.js";
import { createMetrics } from "../src/metrics.js";
import type { Clients } from "../src/processes/clients.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { webhookRoutes } from "../src/server/webhooks/index.js";
import { waitFor } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { jumioCallback, jumioHeaders, onfidoEvent, onfidoHeaders, TRULIOO_DOCS, truliooEvent, truliooHeaders } from "./helpers/webhook-senders.js";

const ONFIDO_OLD = "onfido-webhook-token-old";
const ONFIDO_NEW = "onfido-webhook-token-new";
const TRULIOO = "trulioo-webhook-secret";
const JUMIO_CREDENTIALS = "jumio-callback:pa55-w0rd:with-colon";
const QUEUES = ["kyc-onfido", "kyc-trulioo", "kyc-jumio"] as const;

// Onfido, Trulioo and Jumio end to end over real HTTP: signed (or, for Jumio, allowlisted and
// credentialed) deliveries into the receiver, real workers and Postgres, and local stubs of
// Onfido's and Jumio's APIs shaped like their documentation.
describe("KYC providers: Onfido, Trulioo, Jumio", () => {
  let onfido: OnfidoStub;
  let jumio: JumioStub;
  let stack: TestStack;
  let c: Clients;
  const servers: ServerType[] = [];

  beforeAll(async () => {
    onfido = await startOnfidoStub();
    jumio = await startJumioStub();
    stack = await startStack("kyc_providers", {
      env: {
        ONFIDO_WEBHOOK_SECRETS: `${ONFIDO_OLD},${ONFIDO_NEW}`,
        ONFIDO_API_URL: onfido.url,
        ONFIDO_API_TOKEN: onfido.apiToken,
        TRULIOO_WEBHOOK_SECRETS: TRULIOO,
        JUMIO_IP_ALLOWLIST: "127.0.0.1/32,::1/128",
        JUMIO_CALLBACK_CREDENTIALS: JUMIO_CREDENTIALS,
        JUMIO_TOKEN_URL: jumio.tokenUrl,
        JUMIO_API_URL: jumio.url,
        JUMIO_CLIENT_ID: jumio.clientId,
        JUMIO_CLIENT_SECRET: jumio.clientSecret,
      },
      web: true,
      worker: true,
    });
    c = stack.c;
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await stack?.close();
    await onfido?.close();
    await jumio?.close();
  });

  const post = async (path: string, body: string, headers: Record<string, string>, base = `${stack.base}/webhooks`) => {
    const res = await fetch(`${base}${path}`, { method: "POST", body, headers });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const jobCounts = () =>
    Promise.all(
      QUEUES.map(async (q) =>
        Object.values(await c.queues.queue(q).getJobCounts("waiting", "active", "delayed", "completed", "failed", "prioritized")).reduce((a, b) => a + b, 0),
      ),
    );
  const addInvestor = async () => {
    const id = `inv-${randomUUID()}`;
    await c.dbh.db
      .insertInto("investors")
      .values({
        id,
        wallet: "0x000000000000000000000000000000000000dEaD",
        first_name: "Ada",
        last_name: "Lovelace",
        date_of_birth: "1815-12-10",
        nationality: "GB",
      })
      .execute();
    return id;
  };
  const investor = (id: string) => c.dbh.db.selectFrom("investors").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  const history = (id: string) => c.dbh.db.selectFrom("kyc_events").selectAll().where("investor_id", "=", id).orderBy("id").execute();
  const completed = (queue: string, jobId: string) =>
    waitFor(async () => (await c.queues.queue(queue).getJobState(jobId)) === "completed", 20_000, `${queue} job ${jobId} completed`);
  /** Serve the webhook routes alone with some settings changed, on the same queues. */
  const serveVariant = async (overrides: Partial<Config>) => {
    const app = webhookRoutes({ config: { ...c.config, ...overrides }, queues: c.queues, metrics: createMetrics(), log: createLogger("silent") });
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    });
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  };

  describe("Onfido (X-SHA2-Signature, check read from the API)", () => {
    const tagged = (investorId: string, result: "clear" | "consider") => {
      const id = randomUUID();
      onfido.checks.set(id, onfidoCheck(onfido.url, id, { applicantId: randomUUID(), result, tags: ["kyc", `investor:${investorId}`] }));
      return id;
    };

    it("a signed check.completed (the documented event) -> 202, one job; the clear check approves the investor once under redelivery", async () => {
      const inv = await addInvestor();
      const checkId = tagged(inv, "clear");
      const body = onfidoEvent("check.completed", checkId);
      const first = await post("/kyc/onfido", body, onfidoHeaders(ONFIDO_OLD, body));
      expect(first).toEqual({ status: 202, body: { jobId: `onfido-${checkId}.check%2Ecompleted` } });
      const job = await c.queues.queue("kyc-onfido").getJob(first.body.jobId);
      expect(job?.data.payload).toEqual(JSON.parse(body));
      await completed("kyc-onfido", first.body.jobId);
      expect((await investor(inv)).kyc_status).toBe("approved");
      expect(onfido.requests).toContainEqual({ method: "GET", path: `/v3.6/checks/${checkId}`, status: 200 });

      // Redelivered (rotated secret): a duplicate; after Redis forgot the job: processed again, no new effect.
      expect((await post("/kyc/onfido", body, onfidoHeaders(ONFIDO_NEW, body))).status).toBe(200);
      await c.queues.queue("kyc-onfido").remove(first.body.jobId);
      const again = await post("/kyc/onfido", body, onfidoHeaders(ONFIDO_NEW, body));
      expect(again.status).toBe(202);
      await completed("kyc-onfido", again.body.jobId);
      const h = await history(inv);
      expect(h.map((e) => [e.source, e.status, e.applied, e.event_at.toISOString()])).toEqual([["onfido", "approved", true, "2019-10-28T15:00:39.000Z"]]);
    });

    it("consider -> in review; report.completed reads its check; a check without our tag is dead-lettered", async () => {
      const inv = await addInvestor();
      const checkId = tagged(inv, "consider");
      const reportId = randomUUID();
      onfido.reports.set(reportId, { id: reportId, name: "document", status: "complete", result: "consider", check_id: checkId });
      const body = onfidoEvent("report.completed", reportId);
      const res = await post("/kyc/onfido", body, onfidoHeaders(ONFIDO_NEW, body));
      expect(res.status).toBe(202);
      await completed("kyc-onfido", res.body.jobId);
      expect((await investor(inv)).kyc_status).toBe("in_review");
      expect((await history(inv))[0]).toEqual(
        expect.objectContaining({ event_type: "report.completed", details: expect.objectContaining({ checkId, result: "consider" }) }),
      );

      const stranger = randomUUID();
      onfido.checks.set(stranger, onfidoCheck(onfido.url, stranger, { applicantId: randomUUID(), result: "clear" }));
      const orphan = onfidoEvent("check.completed", stranger);
      const r = await post("/kyc/onfido", orphan, onfidoHeaders(ONFIDO_NEW, orphan));
      const letter = await waitFor(async () => (await listDeadLetters(c.queues.deadLetters("kyc-onfido"))).find((l) => l.jobId === r.body.jobId));
      expect(letter.failedReason).toBe(`Onfido check ${stranger} has no investor:<id> tag`);
    });

    it("401 for a wrong secret, a tampered body, a missing header; nothing enqueued", async () => {
      const before = await jobCounts();
      const body = onfidoEvent("check.completed", randomUUID());
      expect(await post("/kyc/onfido", body, onfidoHeaders("not-the-token", body))).toEqual({ status: 401, body: { error: "invalid signature" } });
      expect((await post("/kyc/onfido", body.replace("complete", "withdrawn"), onfidoHeaders(ONFIDO_OLD, body))).status).toBe(401);
      expect((await post("/kyc/onfido", body, { "content-type": "application/json" })).status).toBe(401);
      expect(await jobCounts()).toEqual(before);
    });
  });

  describe("Trulioo (x-trulioo-signature, URL verification handshake)", () => {
    it("answers the documented handshake with its challenge, enqueueing nothing; unsigned it is refused", async () => {
      const before = await jobCounts();
      const res = await post("/kyc/trulioo", TRULIOO_DOCS.handshake, truliooHeaders(TRULIOO, TRULIOO_DOCS.handshake));
      expect(res).toEqual({ status: 200, body: { challenge: "E5KUIHFDEKJS485RFU38H0B7CFNFMUCJMRDGN9UEYP0YJLGFGFC0DFGUB" } });
      expect((await post("/kyc/trulioo", TRULIOO_DOCS.handshake, { "content-type": "application/json" })).status).toBe(401);
      expect(await jobCounts()).toEqual(before);
    });

    it("accepts the documented event as printed, without its static token in the job", async () => {
      const res = await post("/kyc/trulioo", TRULIOO_DOCS.personMatch, truliooHeaders(TRULIOO, TRULIOO_DOCS.personMatch));
      expect(res).toEqual({ status: 202, body: { jobId: "trulioo-sample-id.SERVICE_SUBMIT.1718011363" } });
      const job = await c.queues.queue("kyc-trulioo").getJob(res.body.jobId);
      const { token: _token, ...expected } = JSON.parse(TRULIOO_DOCS.personMatch);
      expect(job?.data.payload).toEqual(expected);
      expect(JSON.stringify(job?.data)).not.toContain("sample-token");
    });

    it("a match approves the investor once under redelivery; an older non-match is recorded and ignored", async () => {
      const inv = await addInvestor();
      const body = truliooEvent({ id: randomUUID(), userId: inv, match: true, ts: 1_718_011_363 });
      const first = await post("/kyc/trulioo", body, truliooHeaders(TRULIOO, body));
      expect(first.status).toBe(202);
      await completed("kyc-trulioo", first.body.jobId);
      expect((await investor(inv)).kyc_status).toBe("approved");
      expect((await post("/kyc/trulioo", body, truliooHeaders(TRULIOO, body))).status).toBe(200);
      await c.queues.queue("kyc-trulioo").remove(first.body.jobId);
      const again = await post("/kyc/trulioo", body, truliooHeaders(TRULIOO, body));
      await completed("kyc-trulioo", again.body.jobId);

      const stale = truliooEvent({ id: randomUUID(), userId: inv, match: false, ts: 1_718_000_000 });
      const late = await post("/kyc/trulioo", stale, truliooHeaders(TRULIOO, stale));
      await completed("kyc-trulioo", late.body.jobId);
      expect((await investor(inv)).kyc_status).toBe("approved");
      expect((await history(inv)).map((e) => [e.status, e.applied, e.event_at.toISOString()])).toEqual([
        ["approved", true, "2024-06-10T09:22:43.000Z"],
        ["in_review", false, "2024-06-10T06:13:20.000Z"],
      ]);
    });

    it("401 for a wrong secret, a tampered body, a missing header; nothing enqueued", async () => {
      const before = await jobCounts();
      const body = truliooEvent({ id: randomUUID(), userId: "inv-x", match: true, ts: 1_718_011_363 });
      expect((await post("/kyc/trulioo", body, truliooHeaders("wrong", body))).status).toBe(401);
      expect((await post("/kyc/trulioo", body.replace("true", "false"), truliooHeaders(TRULIOO, body))).status).toBe(401);
      expect((await post("/kyc/trulioo", body, { "content-type": "application/json" })).status).toBe(401);
      expect(await jobCounts()).toEqual(before);
    });
  });

  describe("Jumio (allowlist + Basic credentials, decision read from the API)", () => {
    const execution = (userReference: string, decision: string) => {
      const accountId = randomUUID();
      const executionId = randomUUID();
      jumio.executions.set(`${accountId}/${executionId}`, jumioExecution(accountId, executionId, decision, userReference));
      return { accountId, executionId };
    };

    it("a credentialed PROCESSED callback -> 202; the retrieved decision lands once; the OAuth2 token is reused", async () => {
      const inv = await addInvestor();
      const ids = execution(inv, "PASSED");
      const body = jumioCallback({ ...ids, status: "PROCESSED", userReference: inv });
      const first = await post("/kyc/jumio", body, jumioHeaders(JUMIO_CREDENTIALS));
      expect(first).toEqual({ status: 202, body: { jobId: `jumio-${ids.executionId}.PROCESSED` } });
      await completed("kyc-jumio", first.body.jobId);
      expect((await investor(inv)).kyc_status).toBe("approved");
      expect((await post("/kyc/jumio", body, jumioHeaders(JUMIO_CREDENTIALS))).status).toBe(200);
      await c.queues.queue("kyc-jumio").remove(first.body.jobId);
      const again = await post("/kyc/jumio", body, jumioHeaders(JUMIO_CREDENTIALS));
      await completed("kyc-jumio", again.body.jobId);
      expect((await history(inv)).map((e) => [e.source, e.status, e.applied])).toEqual([["jumio", "approved", true]]);

      // Another investor, rejected; the callback without userReference: the execution's own names them.
      const other = await addInvestor();
      const rejected = execution(other, "REJECTED");
      const r = await post("/kyc/jumio", jumioCallback({ ...rejected, status: "PROCESSED" }), jumioHeaders(JUMIO_CREDENTIALS));
      await completed("kyc-jumio", r.body.jobId);
      expect((await investor(other)).kyc_status).toBe("rejected");
      expect(jumio.tokenRequests).toBe(1);
      expect(jumio.retrievals).toBe(3);

      // A token revoked before its expiry: the retrieval's 401 drops it and the retry fetches a new one.
      jumio.revokeTokens();
      const third = await addInvestor();
      const warned = execution(third, "WARNING");
      const w = await post("/kyc/jumio", jumioCallback({ ...warned, status: "PROCESSED", userReference: third }), jumioHeaders(JUMIO_CREDENTIALS));
      await completed("kyc-jumio", w.body.jobId);
      expect((await investor(third)).kyc_status).toBe("in_review");
      expect(jumio.tokenRequests).toBe(2);
    });

    it("ACQUIRED puts the investor in review without a retrieval", async () => {
      const inv = await addInvestor();
      const retrievals = jumio.retrievals;
      const body = jumioCallback({ accountId: randomUUID(), executionId: randomUUID(), status: "ACQUIRED", userReference: inv });
      const res = await post("/kyc/jumio", body, jumioHeaders(JUMIO_CREDENTIALS));
      await completed("kyc-jumio", res.body.jobId);
      expect((await investor(inv)).kyc_status).toBe("in_review");
      expect(jumio.retrievals).toBe(retrievals);
    });

    it("401 for wrong or missing credentials; 401 with no allowlist even with the right ones; 403 from elsewhere; nothing enqueued", async () => {
      const before = await jobCounts();
      const body = jumioCallback({ accountId: randomUUID(), executionId: randomUUID(), status: "PROCESSED", userReference: "inv-x" });
      expect((await post("/kyc/jumio", body, jumioHeaders("jumio-callback:wrong"))).status).toBe(401);
      expect((await post("/kyc/jumio", body, jumioHeaders(`${JUMIO_CREDENTIALS}x`))).status).toBe(401);
      expect((await post("/kyc/jumio", body, { "content-type": "application/json" })).status).toBe(401);
      const open = await serveVariant({ JUMIO_IP_ALLOWLIST: [] });
      expect((await post("/kyc/jumio", body, jumioHeaders(JUMIO_CREDENTIALS), open)).status).toBe(401);
      const elsewhere = await serveVariant({ JUMIO_IP_ALLOWLIST: ["34.202.241.227/32"] });
      expect((await post("/kyc/jumio", body, jumioHeaders(JUMIO_CREDENTIALS), elsewhere)).status).toBe(403);
      expect(await jobCounts()).toEqual(before);
    });
  });

  it("a provider whose settings are unset is off: its route answers 401", async () => {
    const off = await serveVariant({ ONFIDO_WEBHOOK_SECRETS: [], TRULIOO_WEBHOOK_SECRETS: [], JUMIO_CALLBACK_CREDENTIALS: undefined });
    const o = onfidoEvent("check.completed", randomUUID());
    expect((await post("/kyc/onfido", o, onfidoHeaders(ONFIDO_OLD, o), off)).status).toBe(401);
    expect((await post("/kyc/trulioo", TRULIOO_DOCS.handshake, truliooHeaders(TRULIOO, TRULIOO_DOCS.handshake), off)).status).toBe(401);
    const j = jumioCallback({ accountId: randomUUID(), executionId: randomUUID(), status: "PROCESSED" });
    expect((await post("/kyc/jumio", j, jumioHeaders(JUMIO_CREDENTIALS), off)).status).toBe(401);
  });
});

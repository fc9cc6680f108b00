import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KycAdapter } from "../src/clients/kyc/index.js";
import { ProviderError } from "../src/clients/http-error.js";
import { isBreakerOpen } from "../src/clients/breaker.js";
import { behindBreaker } from "../src/clients/kyc/circuit.js";
import { createSumsubAdapter } from "../src/clients/kyc/sumsub.js";
import { startSumsubStub, sumsubCompletedReview, type SumsubStub } from "../src/dev/stubs/sumsub.js";
import type { Clients } from "../src/processes/clients.js";
import { kycApplicationProcessor } from "../src/processors/kyc/applications.js";
import { adminApiClient } from "./helpers/admin-api.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { waitFor } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { standardHeaders, sumsubHeaders } from "./helpers/webhook-senders.js";

const TOKEN = "kyc-outbound-admin-token-0123456789";
const PAY_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
const SUMSUB_WEBHOOK_SECRET = "sumsub-outbound-webhook-secret";

// The outbound half of KYC and the reconciliation, over real HTTP: the admin API, a Sumsub
// stub that checks Sumsub's request signature, real workers, Postgres, Redis and anvil.
describe("KYC outbound (Sumsub) and reconciliation", () => {
  let chain: TestChain;
  let sumsub: SumsubStub;
  let stack: TestStack;
  let c: Clients;
  /** Investors whose first applicant job "crashes" right after Sumsub answered, before our write. */
  const crashOnce = new Set<string>();

  const api = adminApiClient(() => stack.base, TOKEN);
  const webhook = async (path: string, body: string, headers: Record<string, string>) => {
    const res = await fetch(`${stack.base}/webhooks${path}`, { method: "POST", body, headers });
    return { status: res.status, body: (await res.json()) as any };
  };
  const newInvestor = async (extra: Record<string, unknown> = { kycProvider: "sumsub" }) => {
    const id = `inv-${randomUUID()}`;
    const body = { id, wallet: randomWallet(), firstName: "Grace", lastName: "Hopper", dateOfBirth: "1906-12-09", nationality: "US", ...extra };
    const res = await api("POST", "/investors", body);
    expect(res.status).toBe(201);
    return { id, wallet: body.wallet, body };
  };
  const withApplicant = (id: string) =>
    waitFor(
      async () => {
        const kyc = (await api("GET", `/investors/${id}`)).body.kyc;
        return kyc.applicantId && kyc.verificationUrl ? kyc : undefined;
      },
      30_000,
      `investor ${id} applicant`,
    );
  const createdFor = (id: string) => [...sumsub.applicants.values()].filter((a) => a.externalUserId === id);
  const jobDone = (queue: string, jobId: string) =>
    waitFor(async () => (await c.queues.queue(queue).getJobState(jobId)) === "completed", 30_000, `${queue} ${jobId} completed`);

  beforeAll(async () => {
    chain = await startTestChain();
    sumsub = await startSumsubStub();
    stack = await startStack("kyc_outbound", {
      env: {
        ...chain.env,
        ADMIN_API_TOKEN: TOKEN,
        PAYMENTS_WEBHOOK_SECRETS: PAY_SECRET,
        SUMSUB_WEBHOOK_SECRETS: SUMSUB_WEBHOOK_SECRET,
        SUMSUB_API_URL: sumsub.url,
        SUMSUB_APP_TOKEN: sumsub.appToken,
        SUMSUB_SECRET_KEY: sumsub.secretKey,
        KYC_RECONCILE_AFTER: "2h",
      },
      web: true,
      worker: true,
      overrides: {
        // The real processor; only the adapter's answer is lost once for the investors named.
        "kyc-applications": (deps) => {
          const real = deps.kycAdapters.sumsub!;
          const crashing: KycAdapter = {
            ...real,
            submit: async (i, ctx) => {
              const answer = await real.submit(i, ctx);
              if (crashOnce.delete(i.id)) throw new Error("worker died after Sumsub answered, before the applicant id was stored");
              return answer;
            },
          };
          return kycApplicationProcessor({ db: deps.db, queues: deps.queues, adapters: { sumsub: crashing } });
        },
      },
    });
    c = stack.c;
  });
  afterAll(async () => {
    await stack?.close();
    await chain?.stop();
    await sumsub?.close();
  });

  it("POST /api/investors with kycProvider creates one signed Sumsub applicant; GET shows provider, applicant id and link; repeats create none", async () => {
    const inv = await newInvestor();
    const kyc = await withApplicant(inv.id);
    expect(kyc).toEqual(
      expect.objectContaining({ status: "pending", provider: "sumsub", verificationUrl: expect.stringMatching(/^https:\/\/in\.sumsub\.com\/websdk\/p\//) }),
    );
    const [applicant, ...others] = createdFor(inv.id);
    expect(others).toHaveLength(0);
    expect(kyc.applicantId).toBe(applicant!.id);
    expect(applicant!.levelName).toBe("basic-kyc-level");
    // The identical repeat answers 200 and queues nothing more (the applicant is stored); a
    // redelivery of the job, long after Redis forgot it, finds the stored id and calls nobody.
    expect((await api("POST", "/investors", inv.body)).status).toBe(200);
    const jobId = `kyc-application-${inv.id}`;
    await c.queues.queue("kyc-applications").remove(jobId);
    expect((await api("POST", "/investors", inv.body)).status).toBe(200);
    expect(await c.queues.queue("kyc-applications").getJob(jobId)).toBeUndefined();
    const calls = sumsub.requests.length;
    await c.queues.queue("kyc-applications").add("application", { investorId: inv.id }, { jobId });
    await jobDone("kyc-applications", jobId);
    expect((await c.queues.queue("kyc-applications").getJob(jobId))?.returnvalue).toEqual(expect.objectContaining({ outcome: "exists" }));
    expect(sumsub.requests.length).toBe(calls);
    expect(createdFor(inv.id)).toHaveLength(1);
    expect((await api("GET", `/investors/${inv.id}`)).body.kyc.applicantId).toBe(applicant!.id);
    // A different provider under the same id is a different investor: 409.
    expect((await api("POST", "/investors", { ...inv.body, kycProvider: "onfido" })).status).toBe(409);
  });

  it("a 503 from Sumsub is retried; a crash between Sumsub's answer and our write finds the same applicant (409 -> lookup): one applicant", async () => {
    sumsub.failNext = 1;
    const retried = await newInvestor();
    const crashed = `inv-${randomUUID()}`;
    crashOnce.add(crashed);
    const res = await api("POST", "/investors", {
      id: crashed,
      wallet: randomWallet(),
      firstName: "Katherine",
      lastName: "Johnson",
      dateOfBirth: "1918-08-26",
      nationality: "US",
      kycProvider: "sumsub",
    });
    expect(res.status).toBe(201);
    const [a, b] = await Promise.all([withApplicant(retried.id), withApplicant(crashed)]);
    expect(crashOnce.has(crashed)).toBe(false);
    expect(createdFor(retried.id)).toHaveLength(1);
    expect(createdFor(crashed)).toHaveLength(1);
    expect(a.applicantId).toBe(createdFor(retried.id)[0]!.id);
    expect(b.applicantId).toBe(createdFor(crashed)[0]!.id);
    // The crashed attempt's retry was answered 409 and looked the applicant up by externalUserId.
    expect(sumsub.requests.some((r) => r.path === "/resources/applicants" && r.status === 409)).toBe(true);
    expect(sumsub.requests.some((r) => r.path === `/resources/applicants/-;externalUserId=${crashed}/one` && r.status === 200)).toBe(true);
  });

  it("an investor without kycProvider queues nothing; Sumsub refuses a wrongly signed request (401, not retryable)", async () => {
    const inv = await newInvestor({});
    expect(await c.queues.queue("kyc-applications").getJob(`kyc-application-${inv.id}`)).toBeUndefined();
    expect((await api("GET", `/investors/${inv.id}`)).body.kyc).toEqual(expect.objectContaining({ provider: null, applicantId: null, verificationUrl: null }));
    const wrong = createSumsubAdapter({
      baseUrl: sumsub.url,
      appToken: sumsub.appToken,
      secretKey: "not-the-secret",
      levelName: "basic-kyc-level",
      linkTtlSeconds: 600,
      timeoutMs: 5_000,
    });
    const err = await wrong
      .submit(
        { id: "x", firstName: "A", lastName: "B", dateOfBirth: "2000-01-01", nationality: "US" },
        { progress: {}, save: async () => {}, claim: async () => true },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ status: 401, retryable: false });
    expect(String((err as Error).message)).not.toContain("not-the-secret");
  });

  it("the Sumsub adapter's breaker opens on provider failures (then calls nobody) but not on a refusal", async () => {
    const adapterWith = (secretKey: string) =>
      behindBreaker(
        createSumsubAdapter({ baseUrl: sumsub.url, appToken: sumsub.appToken, secretKey, levelName: "basic-kyc-level", linkTtlSeconds: 600, timeoutMs: 5_000 }),
        { timeoutMs: 10_000, errorThresholdPercentage: 50, resetTimeoutMs: 60_000, volumeThreshold: 2 },
      );
    const ref = { applicantId: "nobody", investorId: "nobody", progress: {} };
    const refused = adapterWith("not-the-secret");
    for (let n = 0; n < 3; n++) expect(await refused.status(ref).catch((e: unknown) => e)).toMatchObject({ status: 401 });
    const failing = adapterWith(sumsub.secretKey);
    sumsub.failNext = 2;
    for (let n = 0; n < 2; n++) expect(await failing.status(ref).catch((e: unknown) => e)).toMatchObject({ status: 503 });
    const before = sumsub.requests.length;
    const open = await failing.status(ref).catch((e: unknown) => e);
    expect(isBreakerOpen(open)).toBe(true);
    expect(sumsub.requests.length).toBe(before);
    expect(failing.retryAfterMs!()).toBeGreaterThan(0);
  });

  it("reconciliation: an approval whose webhook never came approves the investor and mints the waiting order once; the late webhook changes nothing", async () => {
    const inv = await newInvestor();
    const { applicantId } = await withApplicant(inv.id);
    const referenceId = `ATK-TX-${randomUUID()}`;
    const tokenAmount = "1000000000000000000000";
    const order = { referenceId, investorId: inv.id, tokenAddress: chain.deployment.securityToken, tokenAmount, expectedAmount: "1000.00", currency: "USD" };
    expect((await api("POST", "/orders", order)).status).toBe(201);
    const payBody = JSON.stringify({
      referenceId,
      amount: 1000,
      bankTransactionId: `BTX-${randomUUID()}`,
      currency: "USD",
      timestamp: new Date().toISOString(),
      rail: "SEPA",
    });
    expect((await webhook("/payments", payBody, standardHeaders(PAY_SECRET, payBody))).status).toBe(202);
    await waitFor(async () => (await api("GET", `/orders/${referenceId}`)).body.status === "awaiting_kyc", 30_000, "order awaiting_kyc");

    // Sumsub approved the applicant; its webhook was lost. The verification has been open 3 h.
    const reviewedAt = new Date(Date.now() - 60 * 60_000);
    reviewedAt.setMilliseconds(0);
    sumsub.reviews.set(applicantId, sumsubCompletedReview("GREEN", reviewedAt));
    await c.dbh.db
      .updateTable("investors")
      .set({ updated_at: new Date(Date.now() - 3 * 60 * 60_000) })
      .where("id", "=", inv.id)
      .execute();

    const run = await c.queues.queue("kyc-reconcile").add("reconcile", {});
    await jobDone("kyc-reconcile", run.id!);
    expect(await run.isCompleted()).toBe(true);
    await waitFor(async () => (await api("GET", `/orders/${referenceId}`)).body.status === "completed", 60_000, "order minted");
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(BigInt(tokenAmount));
    const approved = (await api("GET", `/investors/${inv.id}`)).body.kyc;
    expect(approved).toEqual(
      expect.objectContaining({
        status: "approved",
        eventAt: reviewedAt.toISOString(),
        history: [expect.objectContaining({ source: "sumsub", eventType: "poll/status:completed", status: "approved", applied: true })],
      }),
    );

    // The webhook arrives late (Sumsub's retry), stamped a little after the review.
    const late = JSON.stringify({
      applicantId,
      inspectionId: "insp",
      correlationId: randomUUID(),
      externalUserId: inv.id,
      levelName: "basic-kyc-level",
      type: "applicantReviewed",
      reviewResult: { reviewAnswer: "GREEN" },
      reviewStatus: "completed",
      createdAtMs: new Date(reviewedAt.getTime() + 1_234).toISOString().replace("T", " ").replace("Z", ""),
    });
    const delivered = await webhook("/kyc/sumsub", late, sumsubHeaders(SUMSUB_WEBHOOK_SECRET, late));
    expect(delivered.status).toBe(202);
    await jobDone("kyc-sumsub", delivered.body.jobId);
    const after = (await api("GET", `/investors/${inv.id}`)).body.kyc;
    expect(after.status).toBe("approved");
    expect(after.eventAt).toBe(reviewedAt.toISOString());
    expect(after.history).toEqual([
      expect.objectContaining({ eventType: "poll/status:completed", applied: true }),
      expect.objectContaining({ eventType: "applicantReviewed", status: "approved", applied: false }),
    ]);
    const mints = await c.dbh.db.selectFrom("chain_transactions").select("intent_key").where("intent_key", "=", `mint:${referenceId}`).execute();
    expect(mints).toHaveLength(1);
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(BigInt(tokenAmount));

    // A second run polls nobody who is settled; the poll job of a recent verification is not queued.
    const recent = await newInvestor();
    await withApplicant(recent.id);
    const again = await c.queues.queue("kyc-reconcile").add("reconcile", {});
    await jobDone("kyc-reconcile", again.id!);
    expect((await c.queues.queue("kyc-reconcile").getJob(again.id!))?.returnvalue).toEqual({ polls: 0 });
  });

  it("a poll that finds the review still open changes nothing; one that finds it pending on Sumsub's side puts the investor in review", async () => {
    const inv = await newInvestor();
    const { applicantId } = await withApplicant(inv.id);
    await c.dbh.db
      .updateTable("investors")
      .set({ updated_at: new Date(Date.now() - 3 * 60 * 60_000) })
      .where("id", "=", inv.id)
      .execute();
    const first = await c.queues.queue("kyc-reconcile").add("reconcile", {});
    await jobDone("kyc-reconcile", first.id!);
    await jobDone("kyc-status", `kyc-status-${inv.id}-${first.timestamp}`);
    expect((await api("GET", `/investors/${inv.id}`)).body.kyc).toEqual(expect.objectContaining({ status: "pending", history: [] }));

    sumsub.reviews.set(applicantId, { reviewStatus: "pending", createDate: "2026-03-01 10:00:00+0000", levelName: "basic-kyc-level" });
    const second = await c.queues.queue("kyc-reconcile").add("reconcile", {});
    await jobDone("kyc-reconcile", second.id!);
    await jobDone("kyc-status", `kyc-status-${inv.id}-${second.timestamp}`);
    expect((await api("GET", `/investors/${inv.id}`)).body.kyc).toEqual(expect.objectContaining({ status: "in_review" }));
  });
});

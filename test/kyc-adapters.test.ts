import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildJumio } from "../src/clients/jumio.js";
import { buildKycAdapters, type KycAdapters, type KycSubmitContext } from "../src/clients/kyc/index.js";
import { buildOnfido } from "../src/clients/onfido.js";
import { jumioExecution, startJumioStub, type JumioStub } from "../src/dev/stubs/jumio.js";
import { startOnfidoStub, type OnfidoStub } from "../src/dev/stubs/onfido.js";
import { startTruliooStub, type TruliooStub } from "../src/dev/stubs/trulioo.js";
import type { Clients } from "../src/processes/clients.js";
import type { WorkerDeps } from "../src/processors/deps.js";
import { createTruliooAdapter } from "../src/clients/kyc/trulioo.js";
import { kycApplicationProcessor, submitContext } from "../src/processors/kyc/applications.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { adminApiClient } from "./helpers/admin-api.js";
import { randomWallet } from "./helpers/chain.js";
import { waitFor } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { jumioCallback, jumioHeaders, onfidoEvent, onfidoHeaders } from "./helpers/webhook-senders.js";

const TOKEN = "kyc-adapters-admin-token-0123456789";
const ONFIDO_WEBHOOK = "onfido-adapters-webhook-token";
const JUMIO_CREDENTIALS = "jumio-callback:adapters-password";
const WRONG_SECRET = "wrong-secret-that-must-never-be-printed";

// The outbound adapters of Onfido, Jumio and Trulioo over real HTTP to stubs shaped like their
// documented APIs, with the real admin API, workers, Postgres and Redis. A "crash" is the
// worker dying at a chosen point of the real processor (the adapter's answer or one of its
// writes is lost); the provider's side of it has happened.
describe("KYC outbound adapters (Onfido, Jumio, Trulioo) and their reconciliation", () => {
  let onfido: OnfidoStub;
  let jumio: JumioStub;
  let trulioo: TruliooStub;
  let stack: TestStack;
  let c: Clients;
  /** The adapters as the worker builds them from the same settings, for status reads without a job. */
  let direct: KycAdapters;
  /** Investors whose first attempt dies right after the adapter answered, before the processor's write. */
  const crashAfterSubmit = new Set<string>();
  /** Investors whose first attempt dies at the adapter's first progress write matching the predicate (before it lands). */
  const crashOnSave = new Map<string, (patch: Record<string, string | null>) => boolean>();
  /** Investors whose job runs with adapters built from wrong credentials. */
  const wrongCredentials = new Set<string>();

  const api = adminApiClient(() => stack.base, TOKEN);
  const newInvestor = async (kycProvider: "onfido" | "jumio" | "trulioo", before?: (id: string) => void) => {
    const id = `inv-${randomUUID()}`;
    before?.(id);
    const res = await api("POST", "/investors", {
      id,
      wallet: randomWallet(),
      firstName: "Grace",
      lastName: "Hopper",
      dateOfBirth: "1906-12-09",
      nationality: "US",
      kycProvider,
    });
    expect(res.status).toBe(201);
    return id;
  };
  const jobId = (investorId: string) => `kyc-application-${investorId}`;
  const settled = (investorId: string) =>
    waitFor(
      async () => {
        const state = await c.queues.queue("kyc-applications").getJobState(jobId(investorId));
        return state === "completed" || state === "failed" ? state : undefined;
      },
      30_000,
      `kyc-applications ${investorId} settled`,
    );
  const kyc = async (id: string) => (await api("GET", `/investors/${id}`)).body.kyc;
  const row = (id: string) => c.dbh.db.selectFrom("investors").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  const history = (id: string) => c.dbh.db.selectFrom("kyc_events").selectAll().where("investor_id", "=", id).orderBy("id").execute();
  const jobDone = (queue: string, id: string) =>
    waitFor(async () => (await c.queues.queue(queue).getJobState(id)) === "completed", 30_000, `${queue} ${id} completed`);
  /** Make the verification look open for 3 h and run the reconciliation once; wait for its polls. */
  const reconcile = async (investorId: string) => {
    await c.dbh.db
      .updateTable("investors")
      .set({ updated_at: new Date(Date.now() - 3 * 60 * 60_000) })
      .where("id", "=", investorId)
      .execute();
    const run = await c.queues.queue("kyc-reconcile").add("reconcile", {});
    await jobDone("kyc-reconcile", run.id!);
    const done = await c.queues.queue("kyc-reconcile").getJob(run.id!);
    const polls = (done!.returnvalue as { polls: number }).polls;
    if (polls > 0) await jobDone("kyc-status", `kyc-status-${investorId}-${run.timestamp}`);
    return polls;
  };
  const failure = async (investorId: string) => {
    const job = await c.queues.queue("kyc-applications").getJob(jobId(investorId));
    const letters = await listDeadLetters(c.queues.deadLetters("kyc-applications"));
    return { attemptsMade: job?.attemptsMade, failedReason: job?.failedReason ?? "", dead: letters.some((l) => l.jobId === jobId(investorId)) };
  };

  /** The real adapters, with the crash points of this test around them. */
  const crashing = (adapters: KycAdapters): KycAdapters =>
    Object.fromEntries(
      Object.entries(adapters).map(([name, real]) => [
        name,
        {
          ...real,
          submit: async (i, ctx: KycSubmitContext) => {
            const save: KycSubmitContext["save"] = async (patch) => {
              const crash = crashOnSave.get(i.id);
              if (crash?.(patch)) {
                crashOnSave.delete(i.id);
                throw new Error("worker died after the provider answered, before the answer was stored");
              }
              await ctx.save(patch);
            };
            const answer = await real.submit(i, { ...ctx, save });
            if (crashAfterSubmit.delete(i.id)) throw new Error("worker died after the adapter answered, before the applicant id was stored");
            return answer;
          },
        },
      ]),
    );

  beforeAll(async () => {
    [onfido, jumio, trulioo] = await Promise.all([startOnfidoStub(), startJumioStub(), startTruliooStub()]);
    stack = await startStack("kyc_adapters", {
      env: {
        ADMIN_API_TOKEN: TOKEN,
        ONFIDO_API_URL: onfido.url,
        ONFIDO_API_TOKEN: onfido.apiToken,
        ONFIDO_WORKFLOW_ID: onfido.workflowId,
        ONFIDO_WEBHOOK_SECRETS: ONFIDO_WEBHOOK,
        JUMIO_TOKEN_URL: jumio.tokenUrl,
        JUMIO_API_URL: jumio.url,
        JUMIO_ACCOUNT_URL: jumio.url,
        JUMIO_CLIENT_ID: jumio.clientId,
        JUMIO_CLIENT_SECRET: jumio.clientSecret,
        JUMIO_IP_ALLOWLIST: "127.0.0.1/32,::1/128",
        JUMIO_CALLBACK_CREDENTIALS: JUMIO_CREDENTIALS,
        TRULIOO_TOKEN_URL: trulioo.tokenUrl,
        TRULIOO_API_URL: trulioo.url,
        TRULIOO_CLIENT_ID: trulioo.clientId,
        TRULIOO_CLIENT_SECRET: trulioo.clientSecret,
        KYC_RECONCILE_AFTER: "2h",
      },
      web: true,
      worker: true,
      overrides: {
        "kyc-applications": (deps: WorkerDeps) => {
          const right = kycApplicationProcessor({ db: deps.db, queues: deps.queues, adapters: crashing(deps.kycAdapters) });
          const config = { ...deps.config, ONFIDO_API_TOKEN: WRONG_SECRET, JUMIO_CLIENT_SECRET: WRONG_SECRET, TRULIOO_CLIENT_SECRET: WRONG_SECRET };
          const wrong = kycApplicationProcessor({
            db: deps.db,
            queues: deps.queues,
            adapters: buildKycAdapters(config, undefined, { onfido: buildOnfido(config), jumio: buildJumio(config) }),
          });
          return (data, job, log, token) => (wrongCredentials.has(data.investorId) ? wrong : right)(data, job, log, token);
        },
      },
    });
    c = stack.c;
    direct = buildKycAdapters(c.config, undefined, { onfido: buildOnfido(c.config), jumio: buildJumio(c.config) });
  });
  afterAll(async () => {
    await stack?.close();
    await Promise.all([onfido?.close(), jumio?.close(), trulioo?.close()]);
  });

  const expectRefusedCredentials = async (investorId: string, reason: string) => {
    expect(await settled(investorId)).toBe("failed");
    const f = await failure(investorId);
    // Unrecoverable: one attempt of the eight, dead-lettered at once, naming the provider's refusal.
    expect(f).toEqual({ attemptsMade: 1, failedReason: reason, dead: true });
    expect(f.failedReason).not.toContain(WRONG_SECRET);
    expect((await row(investorId)).kyc_applicant_id).toBeNull();
  };

  describe("Onfido (applicant + Studio workflow run, found again by its investor tag)", () => {
    const runsOf = (id: string) => [...onfido.workflowRuns.values()].filter((r) => r.tags.includes(`investor:${id}`));

    it("creates one applicant and one tagged workflow run; the investor gets the run's link; a crash after the run was created finds it by tag", async () => {
      const applicantsBefore = onfido.applicants.size;
      const plain = await newInvestor("onfido");
      // Onfido created the run; the worker died before its id was stored anywhere.
      const crashed = await newInvestor("onfido", (id) => crashOnSave.set(id, (p) => "workflowRunId" in p));
      expect([await settled(plain), await settled(crashed)]).toEqual(["completed", "completed"]);
      expect(crashOnSave.has(crashed)).toBe(false);
      for (const id of [plain, crashed]) {
        const [run, ...more] = runsOf(id);
        expect(more).toHaveLength(0);
        expect(run).toEqual(expect.objectContaining({ customer_user_id: id, workflow_id: onfido.workflowId, status: "awaiting_input" }));
        expect(await kyc(id)).toEqual(
          expect.objectContaining({
            provider: "onfido",
            status: "pending",
            applicantId: run!.applicant_id,
            verificationUrl: (run!.link as { url: string }).url,
          }),
        );
        expect((await row(id)).kyc_submission).toEqual({ applicantId: run!.applicant_id, applicantCreate: "done", workflowRunId: run!.id });
      }
      expect(onfido.applicants.size - applicantsBefore).toBe(2);
      // The retry looked the run up by tag before creating anything.
      expect(onfido.requests.filter((r) => r.method === "GET" && r.path === "/v3.6/workflow_runs" && r.status === 200).length).toBeGreaterThanOrEqual(3);
    });

    it("a crash between Onfido's answer and our write of the applicant id: the retry does not create a second applicant", async () => {
      const applicantsBefore = onfido.applicants.size;
      const id = await newInvestor("onfido", (inv) => crashOnSave.set(inv, (p) => "applicantId" in p));
      expect(await settled(id)).toBe("failed");
      const f = await failure(id);
      expect(f.dead).toBe(true);
      expect(f.failedReason).toMatch(
        /^Onfido applicant: an earlier attempt's answer was lost, so the provider may already hold one \(an applicant created from .+ on, with no workflow run\); not creating a second/,
      );
      expect(f.failedReason).not.toMatch(/Grace|Hopper|1906/);
      expect(onfido.applicants.size - applicantsBefore).toBe(1);
      expect(runsOf(id)).toHaveLength(0);
    });

    it("a wrong API token: the job fails at once, naming Onfido's refusal and no secret", async () => {
      const id = await newInvestor("onfido", (inv) => wrongCredentials.add(inv));
      await expectRefusedCredentials(id, "Onfido refused to return the workflow runs (401)");
    });

    it("reconciliation: an approved run whose webhook was lost approves the investor once; the late workflow_run.completed is a restatement", async () => {
      const id = await newInvestor("onfido");
      expect(await settled(id)).toBe("completed");
      const [run] = runsOf(id);
      run!.status = "approved";
      run!.updated_at = "2026-03-01T10:00:00.000Z";
      expect(await reconcile(id)).toBe(1);
      expect(await kyc(id)).toEqual(expect.objectContaining({ status: "approved", eventAt: "2026-03-01T10:00:00.000Z" }));
      expect(await reconcile(id)).toBe(0);

      const body = onfidoEvent("workflow_run.completed", run!.id);
      const res = await fetch(`${stack.base}/webhooks/kyc/onfido`, { method: "POST", body, headers: onfidoHeaders(ONFIDO_WEBHOOK, body) });
      expect(res.status).toBe(202);
      await jobDone("kyc-onfido", ((await res.json()) as { jobId: string }).jobId);
      expect((await history(id)).map((e) => [e.event_type, e.status, e.applied])).toEqual([
        ["poll/workflow_run:approved", "approved", true],
        ["workflow_run.completed", "approved", false],
      ]);
    });

    it("status maps the run's states: declined -> rejected, review -> in review, awaiting_input -> no verdict", async () => {
      const adapter = direct.onfido!;
      const id = await newInvestor("onfido");
      expect(await settled(id)).toBe("completed");
      const [run] = runsOf(id);
      const progress = (await row(id)).kyc_submission!;
      const ref = { applicantId: run!.applicant_id, investorId: id, progress };
      expect(await adapter.status(ref)).toBe("pending");
      run!.status = "review";
      expect(await adapter.status(ref)).toMatchObject({ status: "in_review", verdictKey: `onfido:run:${run!.id}:in_review` });
      run!.status = "declined";
      run!.reasons = ["document_expired"];
      expect(await adapter.status(ref)).toMatchObject({ status: "rejected", details: expect.objectContaining({ reasons: ["document_expired"] }) });
    });
  });

  describe("Jumio (account + workflow execution, OAuth2)", () => {
    const accountsOf = (id: string) => [...jumio.accounts.entries()].filter(([, a]) => a.customerInternalReference === id);

    it("creates one account with our id as references; the investor gets the web link; a crash after the answer was stored resumes from it", async () => {
      const id = await newInvestor("jumio", (inv) => crashAfterSubmit.add(inv));
      expect(await settled(id)).toBe("completed");
      expect(crashAfterSubmit.has(id)).toBe(false);
      const accounts = accountsOf(id);
      expect(accounts).toHaveLength(1);
      const [accountId, account] = accounts[0]!;
      expect(account).toEqual(expect.objectContaining({ userReference: id, workflowKey: 10011, tokenLifetime: "604800s" }));
      const k = await kyc(id);
      expect(k).toEqual(expect.objectContaining({ provider: "jumio", status: "pending", applicantId: accountId }));
      expect(k.verificationUrl).toMatch(/^https:\/\/hookrail\.web\.amer-1\.jumio\.ai\/web\/v4\/app\?authorizationToken=/);
      expect((await row(id)).kyc_submission).toEqual({
        accountId,
        accountCreate: "done",
        workflowExecutionId: account.workflowExecutionId,
        webHref: k.verificationUrl,
      });
    });

    it("Jumio's answer lost before it was stored: the retry creates no second account and dead-letters naming the reference", async () => {
      const id = await newInvestor("jumio", (inv) => crashOnSave.set(inv, (p) => "accountId" in p));
      expect(await settled(id)).toBe("failed");
      const f = await failure(id);
      expect(f.dead).toBe(true);
      expect(f.attemptsMade).toBe(2);
      expect(f.failedReason).toMatch(
        new RegExp(
          `^Jumio account: an earlier attempt's answer was lost, so the provider may already hold one \\(customerInternalReference ${id}, created from .+ on\\); not creating a second`,
        ),
      );
      expect(accountsOf(id)).toHaveLength(1);
    });

    it("wrong client credentials: the job fails at once, naming Jumio's refusal and no secret", async () => {
      const id = await newInvestor("jumio", (inv) => wrongCredentials.add(inv));
      await expectRefusedCredentials(id, "Jumio OAuth2 refused the client credentials (403)");
      expect(accountsOf(id)).toHaveLength(0);
    });

    it("reconciliation: a PASSED execution whose callback was lost approves once; the late PROCESSED callback is a restatement; REJECTED maps to rejected", async () => {
      const id = await newInvestor("jumio");
      expect(await settled(id)).toBe("completed");
      const [accountId, account] = accountsOf(id)[0]!;
      jumio.executions.set(`${accountId}/${account.workflowExecutionId}`, jumioExecution(accountId, account.workflowExecutionId, "PASSED", id));
      expect(await reconcile(id)).toBe(1);
      expect(await kyc(id)).toEqual(expect.objectContaining({ status: "approved", eventAt: "2021-01-20T14:01:29.000Z" }));
      expect(await reconcile(id)).toBe(0);

      const body = jumioCallback({ accountId, executionId: account.workflowExecutionId, status: "PROCESSED", userReference: id });
      const res = await fetch(`${stack.base}/webhooks/kyc/jumio`, { method: "POST", body, headers: jumioHeaders(JUMIO_CREDENTIALS) });
      expect(res.status).toBe(202);
      await jobDone("kyc-jumio", ((await res.json()) as { jobId: string }).jobId);
      expect((await history(id)).map((e) => [e.event_type, e.status, e.applied])).toEqual([
        ["poll/execution:PROCESSED", "approved", true],
        ["PROCESSED", "approved", false],
      ]);

      const adapter = direct.jumio!;
      const ref = { applicantId: accountId, investorId: id, progress: (await row(id)).kyc_submission! };
      jumio.executions.set(`${accountId}/${account.workflowExecutionId}`, jumioExecution(accountId, account.workflowExecutionId, "REJECTED", id));
      expect(await adapter.status(ref)).toMatchObject({ status: "rejected", verdictKey: `jumio:${account.workflowExecutionId}:rejected` });
    });
  });

  describe("Trulioo (Verify, OAuth2; the verdict is in the answer)", () => {
    it("a match approves at submission; a crash after Trulioo answered and the answer was stored runs one verify and applies once", async () => {
      const before = trulioo.verifies;
      const id = await newInvestor("trulioo", (inv) => crashAfterSubmit.add(inv));
      expect(await settled(id)).toBe("completed");
      expect(crashAfterSubmit.has(id)).toBe(false);
      expect(trulioo.verifies - before).toBe(1);
      const record = [...trulioo.records.values()].find((r) => r.CustomerReferenceID === id)!;
      expect(record.CountryCode).toBe("US");
      const k = await kyc(id);
      expect(k).toEqual(
        expect.objectContaining({ provider: "trulioo", status: "approved", applicantId: record.Record.TransactionRecordID, verificationUrl: null }),
      );
      expect((await history(id)).map((e) => [e.event_type, e.status, e.applied])).toEqual([["submit/record:match", "approved", true]]);
    });

    it("Trulioo's answer lost before it was stored: no second verify, dead-lettered naming CustomerReferenceID", async () => {
      const before = trulioo.verifies;
      const id = await newInvestor("trulioo", (inv) => crashOnSave.set(inv, (p) => "transactionRecordId" in p));
      expect(await settled(id)).toBe("failed");
      const f = await failure(id);
      expect(f.dead).toBe(true);
      expect(f.failedReason).toMatch(
        new RegExp(
          `^Trulioo verification: an earlier attempt's answer was lost, so the provider may already hold one \\(CustomerReferenceID ${id}, from .+ on\\)`,
        ),
      );
      expect(trulioo.verifies - before).toBe(1);
    });

    it("a 503 from Trulioo is retried (nothing was created) and verifies once", async () => {
      const before = trulioo.verifies;
      trulioo.failNext = 1;
      const id = await newInvestor("trulioo");
      expect(await settled(id)).toBe("completed");
      expect(trulioo.verifies - before).toBe(1);
      expect((await row(id)).kyc_submission).toEqual(expect.objectContaining({ recordStatus: "match", verifyCreate: "done" }));
    });

    const bareInvestor = async () => {
      const id = `inv-${randomUUID()}`;
      await c.dbh.db
        .insertInto("investors")
        .values({ id, wallet: randomWallet(), first_name: "Ada", last_name: "Lovelace", date_of_birth: "1815-12-10", nationality: "GB" })
        .execute();
      return { id, firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", nationality: "GB" };
    };
    const truliooAt = (apiUrl: string) =>
      createTruliooAdapter({
        tokenUrl: trulioo.tokenUrl,
        apiUrl,
        clientId: trulioo.clientId,
        clientSecret: trulioo.clientSecret,
        configurationName: "Identity Verification",
        timeoutMs: 5_000,
      });

    it("two attempts racing (one whose lock expired): the conditional claim lets one verify, the other is in doubt", async () => {
      const before = trulioo.verifies;
      const input = await bareInvestor();
      const adapter = truliooAt(trulioo.url);
      const results = await Promise.allSettled([0, 1].map(() => adapter.submit(input, submitContext(c.dbh.db, input.id, null))));
      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toMatchObject({ kind: "in_doubt", retryable: false });
      expect(trulioo.verifies - before).toBe(1);
    });

    it("Trulioo unreachable (connection refused): the request never left, so the marker is dropped and the retry may verify", async () => {
      const port = await new Promise<number>((resolve) => {
        const srv = createServer().listen(0, "127.0.0.1", () => {
          const p = (srv.address() as { port: number }).port;
          srv.close(() => resolve(p));
        });
      });
      const input = await bareInvestor();
      const err = await truliooAt(`http://127.0.0.1:${port}`)
        .submit(input, submitContext(c.dbh.db, input.id, null))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: "network", retryable: true, notSent: true });
      expect((await row(input.id)).kyc_submission).toEqual({});
    });

    it("wrong client credentials: the job fails at once, naming Trulioo's refusal and no secret", async () => {
      const id = await newInvestor("trulioo", (inv) => wrongCredentials.add(inv));
      await expectRefusedCredentials(id, "Trulioo OAuth2 refused the client credentials (400)");
    });

    it("reconciliation reads the transaction record: a missed nomatch puts the investor in review once, however often it is polled", async () => {
      const id = await newInvestor("trulioo", (inv) => trulioo.outcomes.set(inv, "nomatch"));
      expect(await settled(id)).toBe("completed");
      // The verdict of the submission was never applied (as if recorded before this code existed).
      await c.dbh.db.deleteFrom("kyc_events").where("investor_id", "=", id).execute();
      await c.dbh.db.updateTable("investors").set({ kyc_status: "pending", kyc_event_at: null, kyc_details: null }).where("id", "=", id).execute();
      expect(await reconcile(id)).toBe(1);
      expect(await reconcile(id)).toBe(1);
      expect((await history(id)).map((e) => [e.event_type, e.status, e.applied])).toEqual([["poll/record:nomatch", "in_review", true]]);
      expect((await kyc(id)).status).toBe("in_review");
    });
  });
});

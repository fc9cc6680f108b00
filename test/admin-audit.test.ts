import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/index.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { adminApiClient } from "./helpers/admin-api.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { waitFor } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";

const LEGACY = "legacy-admin-token-0123456789";
const CI = "ci-bot-token-0123456789abcdef";
const SCRIPT = "ops-script-token-0123456789ab";

describe("settings for sign-in and named tokens", () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
  };
  const oidc = {
    OIDC_ISSUER_URL: "https://login.example.com",
    OIDC_CLIENT_ID: "hookrail",
    OIDC_CLIENT_SECRET: "s3cret",
    OIDC_REDIRECT_URL: "https://hookrail.example.com/admin/auth/callback",
    SSO_OPERATOR_ROLES: "ops",
    SESSION_SECRET: "x".repeat(32),
  };

  it("refuses basic auth together with SSO, naming both; OIDC with SAML; half an OIDC; SSO without a session secret or roles", () => {
    expect(problems(oidc)).toEqual([]);
    expect(problems({ ...oidc, BOARD_PASSWORD: "pw" })).toEqual([
      expect.stringMatching(/^BOARD_PASSWORD and OIDC_ISSUER_URL: basic auth and single sign-on cannot both be on/),
    ]);
    expect(problems({ ...oidc, SAML_ENTRY_POINT: "https://idp.example.com/sso" }).join("\n")).toContain(
      "OIDC_ISSUER_URL and SAML_ENTRY_POINT: OIDC and SAML cannot both be configured",
    );
    expect(problems({ OIDC_ISSUER_URL: "https://login.example.com", SSO_OPERATOR_ROLES: "ops", SESSION_SECRET: "x".repeat(32) })).toEqual([
      "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URL: required when OIDC_ISSUER_URL is set",
    ]);
    const { SESSION_SECRET: _s, SSO_OPERATOR_ROLES: _r, ...bare } = oidc;
    expect(problems(bare)).toEqual([
      "SESSION_SECRET: required with single sign-on (OIDC_ISSUER_URL is set)",
      "SSO_VIEWER_ROLES, SSO_OPERATOR_ROLES: set at least one with single sign-on, or nobody can log in",
    ]);
  });

  it("parses ADMIN_API_TOKENS as name:token pairs and reports bad entries without echoing a token", () => {
    expect(loadConfig({ ADMIN_API_TOKENS: `ci-bot:${CI}, ops-script:${SCRIPT}` }).ADMIN_API_TOKENS).toEqual([
      { name: "ci-bot", token: CI },
      { name: "ops-script", token: SCRIPT },
    ]);
    const found = problems({ ADMIN_API_TOKENS: `ci-bot:short,${CI},dup:${SCRIPT},dup:${SCRIPT}` }).join("\n");
    expect(found).toContain('token "ci-bot": expected at least 16 characters');
    expect(found).toContain("entry 2: expected name:token");
    expect(found).toContain('token name "dup" appears twice');
    for (const secret of ["short", CI, SCRIPT]) expect(found).not.toContain(secret);
  });
});

describe("admin API: named tokens, audit, flagged-order resolutions (anvil, Redis, Postgres, HTTP)", () => {
  let chain: TestChain;
  let stack: TestStack;
  const ci = adminApiClient(() => stack.base, CI);
  const legacy = adminApiClient(() => stack.base, LEGACY);
  const script = adminApiClient(() => stack.base, SCRIPT);
  const audit = () => stack.c.dbh.db.selectFrom("audit_events").selectAll().orderBy("id").execute();

  beforeAll(async () => {
    chain = await startTestChain();
    stack = await startStack("admin_audit", {
      env: { ...chain.env, ADMIN_API_TOKEN: LEGACY, ADMIN_API_TOKENS: `ci-bot:${CI},ops-script:${SCRIPT}`, WORKER_QUEUES: "payments,mints,kyc-sumsub" },
      worker: true,
      web: true,
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await chain?.stop();
  });

  const newInvestor = async (api = ci) => {
    const id = `inv-${randomUUID()}`;
    const wallet = randomWallet();
    expect((await api("POST", "/investors", { id, wallet, firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1990-12-10", nationality: "GB" })).status).toBe(
      201,
    );
    await stack.c.queues.queue("kyc-sumsub").add(
      "sumsub",
      {
        eventId: `sumsub-${id}`,
        receivedAt: new Date().toISOString(),
        payload: { type: "applicantReviewed", applicantId: `app-${id}`, externalUserId: id, reviewResult: { reviewAnswer: "GREEN" }, createdAtMs: Date.now() },
      },
      { jobId: `sumsub-${id}` },
    );
    await waitFor(async () => (await ci("GET", `/investors/${id}`)).body.kyc.status === "approved", 20_000, "KYC approval");
    return { id, wallet };
  };

  /** An order paid with the wrong amount: flagged, its payment job dead-lettered. */
  const flaggedOrder = async (investorId: string, tokenAmount = "5") => {
    const referenceId = `ATK-TX-${randomUUID()}`;
    const created = await ci("POST", "/orders", {
      referenceId,
      investorId,
      tokenAddress: chain.deployment.securityToken,
      tokenAmount,
      expectedAmount: "100.00",
      currency: "USD",
    });
    expect(created.status).toBe(201);
    await pay(referenceId, "99.99");
    await waitFor(async () => (await ci("GET", `/orders/${referenceId}`)).body.status === "flagged", 20_000, "flagged");
    return referenceId;
  };

  const pay = async (referenceId: string, amount: string) => {
    const tx = `BTX-${randomUUID()}`;
    await stack.c.queues.queue("payments").add(
      "payment",
      {
        eventId: tx,
        receivedAt: new Date().toISOString(),
        payload: {
          type: "payment.completed",
          referenceId,
          amount,
          currency: "USD",
          bankTransactionId: tx,
          timestamp: new Date().toISOString(),
          rail: "FEDNOW",
        },
      },
      { jobId: `pay-${tx}` },
    );
    return tx;
  };

  it("every token works under its own name and each write is audited with it; reads are not", async () => {
    const a = await newInvestor(ci);
    const b = await newInvestor(legacy);
    expect((await script("GET", `/investors/${a.id}`)).status).toBe(200);
    expect((await adminApiClient(() => stack.base, `${CI}x`)("GET", `/investors/${a.id}`)).status).toBe(401);
    const rows = await audit();
    expect(rows).toContainEqual(
      expect.objectContaining({ actor: "ci-bot", actor_kind: "token", action: "api.investors.create", target: `investors/${a.id}`, result: "ok" }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({ actor: "default", actor_kind: "token", action: "api.investors.create", target: `investors/${b.id}`, result: "ok" }),
    );
    expect(rows.some((r) => r.actor === "ops-script")).toBe(false);
    for (const r of rows) expect(r.ip).toMatch(/127\.0\.0\.1/);
  });

  it("accept-payment keeps the order's token amount and mints it exactly once, even accepted twice at the same moment", async () => {
    const inv = await newInvestor();
    const ref = await flaggedOrder(inv.id, "7000");
    const letters = await listDeadLetters(stack.c.queues.deadLetters("payments"));
    expect(letters.some((l) => (l.data as { payload: { referenceId: string } }).payload.referenceId === ref)).toBe(true);

    const [one, two] = await Promise.all([
      ci("POST", `/orders/${ref}/accept-payment`, { reason: "customer confirmed the bank fee" }),
      script("POST", `/orders/${ref}/accept-payment`, { reason: "same, from the script" }),
    ]);
    expect([one.status, two.status].sort()).toEqual([200, 409]);
    expect([one, two].find((r) => r.status === 200)!.body).toEqual({ referenceId: ref, status: "minting" });
    expect([one, two].find((r) => r.status === 409)!.body.error).toMatch(/is minting, not flagged; nothing changed/);
    await waitFor(async () => (await ci("GET", `/orders/${ref}`)).body.status === "completed", 30_000, "completed");
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(7000n);
    const order = (await ci("GET", `/orders/${ref}`)).body;
    expect(order.tokenAmount).toBe("7000");
    expect(order.payment.amount).toBe("99.99");
    const mints = await stack.c.dbh.db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", `mint:${ref}`).execute();
    expect(mints).toHaveLength(1);

    const rows = (await audit()).filter((r) => r.target === `orders/${ref}` && r.action === "api.orders.accept-payment");
    expect(rows.map((r) => r.result).sort()).toEqual(["http 409", "ok"]);
    expect(rows.find((r) => r.result === "ok")!.detail).toEqual({ reason: expect.any(String) });
  });

  it("cancel leaves the order refund_pending; reopen clears the payment so a matching one completes it; neither applies twice", async () => {
    const inv = await newInvestor();
    const cancelled = await flaggedOrder(inv.id);
    const c1 = await ci("POST", `/orders/${cancelled}/cancel`, { reason: "investor asked for the money back" });
    expect(c1).toMatchObject({ status: 200, body: { status: "refund_pending" } });
    expect((await ci("POST", `/orders/${cancelled}/cancel`, { reason: "again" })).status).toBe(409);
    expect((await ci("POST", `/orders/${cancelled}/reopen`, { reason: "too late" })).status).toBe(409);
    const after = (await ci("GET", `/orders/${cancelled}`)).body;
    expect(after.status).toBe("refund_pending");
    expect(after.failureReason).toContain("investor asked for the money back");

    const reopened = await flaggedOrder(inv.id, "11");
    expect((await ci("POST", `/orders/${reopened}/reopen`, { reason: "investor will pay the difference as a new transfer" })).body.status).toBe("pending");
    const o = (await ci("GET", `/orders/${reopened}`)).body;
    expect(o).toMatchObject({ status: "pending", payment: null, flagReason: null });
    await pay(reopened, "100.00");
    await waitFor(async () => (await ci("GET", `/orders/${reopened}`)).body.status === "completed", 30_000, "completed after reopen");
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(11n);
    const actions = (await audit())
      .filter((r) => r.target === `orders/${reopened}` || r.target === `orders/${cancelled}`)
      .map((r) => `${r.action} ${r.result}`);
    expect(actions).toEqual([
      "api.orders.create ok",
      "api.orders.cancel ok",
      "api.orders.cancel http 409",
      "api.orders.reopen http 409",
      "api.orders.create ok",
      "api.orders.reopen ok",
    ]);
  });

  it("a resolution needs a reason (400 naming the field) and an existing order (404); an order that is not flagged is 409", async () => {
    const inv = await newInvestor();
    const ref = `ATK-TX-${randomUUID()}`;
    await ci("POST", "/orders", {
      referenceId: ref,
      investorId: inv.id,
      tokenAddress: chain.deployment.securityToken,
      tokenAmount: "1",
      expectedAmount: "1",
      currency: "USD",
    });
    const noReason = await ci("POST", `/orders/${ref}/accept-payment`, {});
    expect(noReason.status).toBe(400);
    expect(JSON.stringify(noReason.body)).toContain("reason");
    expect((await ci("POST", `/orders/ATK-TX-nope/cancel`, { reason: "x" })).status).toBe(404);
    expect((await ci("POST", `/orders/${ref}/accept-payment`, { reason: "not flagged" })).status).toBe(409);
    expect((await ci("GET", `/orders/${ref}`)).body.status).toBe("pending");
  });
});

describe("ops surface behind basic auth", () => {
  let stack: TestStack;
  const auth = `Basic ${Buffer.from("ops:board-pass-123").toString("base64")}`;
  beforeAll(async () => {
    stack = await startStack("ops_basic", { env: { BOARD_USERNAME: "ops", BOARD_PASSWORD: "board-pass-123" }, web: true });
  });
  afterAll(() => stack?.close());

  it("refuses a write without a same-origin Origin (browsers send basic credentials cross-site too); a same-origin purge works and is audited", async () => {
    await stack.c.queues.deadLetters("payments").add("payment", { placeholder: true }, { jobId: "x.1" });
    const host = new URL(stack.base).host;
    const purge = (headers: Record<string, string>) =>
      fetch(`${stack.base}/admin/dead-letters/payments/purge`, {
        method: "POST",
        redirect: "manual",
        headers: { authorization: auth, ...headers },
        body: new URLSearchParams({ confirm: "payments" }),
      });
    expect((await purge({})).status).toBe(403);
    expect((await purge({ origin: "https://evil.example" })).status).toBe(403);
    expect((await purge({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect(await stack.c.queues.deadLetters("payments").getJobCountByTypes("waiting")).toBe(1);
    const ok = await purge({ origin: `http://${host}` });
    expect(ok.status).toBe(303);
    expect(decodeURIComponent(ok.headers.get("location")!)).toContain("purged 1 dead letter(s) from payments");
    expect(await stack.c.queues.deadLetters("payments").getJobCountByTypes("waiting")).toBe(0);
    const rows = await stack.c.dbh.db.selectFrom("audit_events").selectAll().execute();
    expect(rows).toEqual([
      expect.objectContaining({
        actor: "ops",
        actor_kind: "basic",
        role: "operator",
        action: "dead_letter.purge",
        target: "payments",
        result: "ok",
        detail: { purged: 1 },
      }),
    ]);
    expect((await fetch(`${stack.base}/admin/dead-letters`)).status).toBe(401);
    expect((await fetch(`${stack.base}/admin/login`)).status).toBe(404);
  });
});

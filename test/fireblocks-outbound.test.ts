import { generateKeyPairSync, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFireblocksApi, createTransactionOnce, type FireblocksApi, fireblocksToken } from "../src/clients/fireblocks-api.js";
import { ProviderError } from "../src/clients/http-error.js";
import { type ConfigError, loadConfig } from "../src/config/index.js";
import { type FireblocksApiStub, startFireblocksApiStub } from "../src/dev/stubs/fireblocks-api.js";
import type { Clients } from "../src/processes/clients.js";
import { custodyVaultProcessor } from "../src/processors/custody/vaults.js";
import { adminApiClient } from "./helpers/admin-api.js";
import { randomWallet } from "./helpers/chain.js";
import { waitFor } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { fireblocksV1Headers, rsaKeyPair, sumsubHeaders } from "./helpers/webhook-senders.js";

// Fireblocks outbound over real HTTP: a stub that authenticates every request as Fireblocks
// documents it, our client, real workers, Postgres and Redis.
describe("Fireblocks API client and stub authentication", () => {
  let fb: FireblocksApiStub;
  beforeAll(async () => {
    fb = await startFireblocksApiStub();
  });
  afterAll(async () => {
    await fb?.close();
  });
  const client = (over: Partial<Parameters<typeof createFireblocksApi>[0]> = {}) =>
    createFireblocksApi({ baseUrl: fb.url, apiKey: fb.apiKey, secretKey: fb.secretKeyPem, timeoutMs: 5_000, ...over });
  const lastCode = () => fb.requests.at(-1)?.code;

  it("a correctly signed request is served; a wrong key, a stale or future iat and a wrong API key are refused 401 (not retryable)", async () => {
    const ok = await client().vaultAccountsByName("nobody-");
    expect(ok).toEqual([]);
    expect(fb.requests.at(-1)).toMatchObject({ path: "/v1/vault/accounts_paged", status: 200 });

    const wrongKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const err = await client({ secretKey: wrongKey })
      .vaultAccountsByName("x")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ status: 401, retryable: false });
    expect(lastCode()).toBe(-1);
    expect(String((err as Error).message)).not.toContain("PRIVATE KEY");

    expect(
      await client({ now: () => Date.now() - 60_000 })
        .vaultAccountsByName("x")
        .catch((e: unknown) => e),
    ).toMatchObject({ status: 401 });
    expect(lastCode()).toBe(-10);
    expect(
      await client({ now: () => Date.now() + 120_000 })
        .vaultAccountsByName("x")
        .catch((e: unknown) => e),
    ).toMatchObject({ status: 401 });
    expect(lastCode()).toBe(-12);
    expect(
      await client({ apiKey: "someone-else" })
        .vaultAccountsByName("x")
        .catch((e: unknown) => e),
    ).toMatchObject({ status: 401 });
    expect(lastCode()).toBe(-7);
  });

  it("a token is bound to its body, its uri and one use: tampered body, other path or replay -> 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ name: "hookrail-test", customerRefId: "c1", autoFuel: true });
    const post = (token: string, raw: string, path = "/v1/vault/accounts") =>
      fetch(`${fb.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "X-API-Key": fb.apiKey, authorization: `Bearer ${token}` },
        body: raw,
      });
    const signed = (raw: string, uri = "/v1/vault/accounts") => fireblocksToken({ apiKey: fb.apiKey, key: fb.secretKey, uri, body: raw, nowSeconds: now });

    const tampered = await post(await signed(body), body.replace("c1", "c2"));
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toEqual({ message: expect.any(String), code: -7 });
    const otherUri = await post(await signed(body, "/v1/transactions"), body);
    expect(otherUri.status).toBe(401);
    expect((await otherUri.json()).code).toBe(-4);
    const missing = await fetch(`${fb.url}/v1/vault/accounts`, { method: "POST", headers: { "X-API-Key": fb.apiKey }, body });
    expect(missing.status).toBe(401);
    expect((await missing.json()).code).toBe(-3);

    const token = await signed(body);
    expect((await post(token, body)).status).toBe(200);
    const replay = await post(token, body);
    expect(replay.status).toBe(401);
    expect((await replay.json()).code).toBe(-7);
    expect([...fb.vaults.values()].filter((v) => v.customerRefId === "c1")).toHaveLength(1);
  });

  it("settings: the three API settings go together and the secret key must be a PEM private key, never echoed", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", ...env });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ FIREBLOCKS_API_KEY: "k" }).join("\n")).toContain(
      "FIREBLOCKS_API_URL, FIREBLOCKS_API_SECRET_KEY: required together with FIREBLOCKS_API_KEY",
    );
    const bad = problems({ FIREBLOCKS_API_URL: fb.url, FIREBLOCKS_API_KEY: "k", FIREBLOCKS_API_SECRET_KEY: "secret-not-a-pem" }).join("\n");
    expect(bad).toContain("FIREBLOCKS_API_SECRET_KEY: expected an RSA private key in PEM form");
    expect(bad).not.toContain("secret-not-a-pem");
    expect(problems({ FIREBLOCKS_API_URL: fb.url, FIREBLOCKS_API_KEY: "k", FIREBLOCKS_API_SECRET_KEY: fb.secretKeyPem })).toEqual([]);
  });

  it("a transaction is created once by externalTxId: the resend is refused 400 and createTransactionOnce finds the first", async () => {
    const api = client();
    const t = {
      operation: "TRANSFER" as const,
      externalTxId: `tr-${randomUUID()}`,
      assetId: "ETH",
      amount: "0.000000000000000001",
      source: { type: "VAULT_ACCOUNT" as const, id: "0" },
      destination: { type: "ONE_TIME_ADDRESS" as const, oneTimeAddress: { address: "0x000000000000000000000000000000000000dEaD" } },
    };
    const first = await createTransactionOnce(api, t);
    expect(first).toMatchObject({ status: "SUBMITTED", existing: false });
    expect(await api.createTransaction(t).catch((e: unknown) => e)).toMatchObject({ status: 400, retryable: false });
    const again = await createTransactionOnce(api, t);
    expect(again).toMatchObject({ id: first.id, status: "SUBMITTED", existing: true });
    expect([...fb.transactions.values()].filter((x) => x.externalTxId === t.externalTxId)).toHaveLength(1);
    expect((await api.transaction(first.id)).amount).toBe("0.000000000000000001");
    expect(await api.transactionByExternalId("never-created")).toBeUndefined();
  });
});

const TOKEN = "fireblocks-outbound-admin-token-0123";
const SUMSUB_WEBHOOK_SECRET = "fireblocks-outbound-sumsub-secret";

describe("Fireblocks outbound: vaults on KYC approval, transfers out of custody", () => {
  let fb: FireblocksApiStub;
  let stack: TestStack;
  let c: Clients;
  const webhookKeys = rsaKeyPair();
  /** Investors whose vault job "crashes" once right after Fireblocks created the vault, before our write. */
  const crashOnce = new Set<string>();
  const api = adminApiClient(() => stack.base, TOKEN);
  const webhook = async (path: string, body: string, headers: Record<string, string>) => {
    const res = await fetch(`${stack.base}/webhooks${path}`, { method: "POST", body, headers });
    return { status: res.status, body: (await res.json()) as any };
  };
  const jobDone = (queue: string, jobId: string) =>
    waitFor(async () => (await c.queues.queue(queue).getJobState(jobId)) === "completed", 30_000, `${queue} ${jobId} completed`);
  const vaultsOf = (investorId: string) => [...fb.vaults.values()].filter((v) => v.customerRefId === investorId);

  const approvedInvestor = async () => {
    const id = `inv-${randomUUID()}`;
    expect(
      (await api("POST", "/investors", { id, wallet: randomWallet(), firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", nationality: "GB" }))
        .status,
    ).toBe(201);
    const body = JSON.stringify({
      applicantId: `app-${randomUUID()}`,
      inspectionId: "insp",
      correlationId: randomUUID(),
      externalUserId: id,
      levelName: "basic-kyc-level",
      type: "applicantReviewed",
      reviewResult: { reviewAnswer: "GREEN" },
      reviewStatus: "completed",
      createdAtMs: new Date().toISOString().replace("T", " ").replace("Z", ""),
    });
    expect((await webhook("/kyc/sumsub", body, sumsubHeaders(SUMSUB_WEBHOOK_SECRET, body))).status).toBe(202);
    return id;
  };
  const withVault = (id: string) =>
    waitFor(
      async () => {
        const custody = (await api("GET", `/investors/${id}`)).body.custody;
        return custody.vaultId && custody.depositAddress ? custody : undefined;
      },
      30_000,
      `investor ${id} vault`,
    );

  beforeAll(async () => {
    fb = await startFireblocksApiStub();
    stack = await startStack("fireblocks_outbound", {
      env: {
        ADMIN_API_TOKEN: TOKEN,
        SUMSUB_WEBHOOK_SECRETS: SUMSUB_WEBHOOK_SECRET,
        FIREBLOCKS_PUBLIC_KEYS: webhookKeys.publicPem,
        FIREBLOCKS_JWKS_URL: fb.jwksUrl,
        FIREBLOCKS_API_URL: fb.url,
        FIREBLOCKS_API_KEY: fb.apiKey,
        FIREBLOCKS_API_SECRET_KEY: fb.secretKeyPem.replace(/\n/g, "\\n"),
        FIREBLOCKS_VAULT_ASSET_ID: "ETH_TEST5",
      },
      web: true,
      worker: true,
      overrides: {
        // The real processor; only Fireblocks' answer to the vault create is lost once for the investors named.
        "custody-vaults": (deps) => {
          const real = deps.fireblocks!;
          const crashing: FireblocksApi = {
            ...real,
            createVaultAccount: async (v, key) => {
              const vault = await real.createVaultAccount(v, key);
              if (crashOnce.delete(v.customerRefId)) throw new Error("worker died after Fireblocks created the vault, before its id was stored");
              return vault;
            },
          };
          return custodyVaultProcessor({ db: deps.db, fireblocks: crashing, assetId: deps.config.FIREBLOCKS_VAULT_ASSET_ID });
        },
      },
    });
    c = stack.c;
    fb.webhookUrl = `${stack.base}/webhooks/custody/fireblocks`;
  });
  afterAll(async () => {
    await stack?.close();
    await fb?.close();
  });

  it("a KYC approval opens one vault (customerRefId, autoFuel) with its wallet; GET /api/investors shows them; a redelivery calls nobody", async () => {
    const id = await approvedInvestor();
    const custody = await withVault(id);
    const [vault, ...others] = vaultsOf(id);
    expect(others).toHaveLength(0);
    expect(vault).toMatchObject({ name: `hookrail-investor-${id}`, autoFuel: true });
    expect(custody).toEqual({
      vaultId: vault!.id,
      assetId: "ETH_TEST5",
      depositAddress: vault!.assets.get("ETH_TEST5")!.address,
      vaultCreatedAt: expect.any(String),
    });

    const jobId = `custody-vault-${id}`;
    await jobDone("custody-vaults", jobId);
    await c.queues.queue("custody-vaults").remove(jobId);
    const calls = fb.requests.length;
    await c.queues.queue("custody-vaults").add("vault", { investorId: id }, { jobId });
    await jobDone("custody-vaults", jobId);
    expect((await c.queues.queue("custody-vaults").getJob(jobId))?.returnvalue).toEqual(expect.objectContaining({ outcome: "exists" }));
    expect(fb.requests.length).toBe(calls);
  });

  it("a 503 is retried, and a crash after Fireblocks created the vault finds the same vault on the rerun: one vault each", async () => {
    fb.failNext = 1;
    const retried = await approvedInvestor();
    const crashedId = `inv-${randomUUID()}`;
    crashOnce.add(crashedId);
    expect(
      (
        await api("POST", "/investors", {
          id: crashedId,
          wallet: randomWallet(),
          firstName: "Alan",
          lastName: "Turing",
          dateOfBirth: "1912-06-23",
          nationality: "GB",
        })
      ).status,
    ).toBe(201);
    const body = JSON.stringify({
      applicantId: `app-${randomUUID()}`,
      inspectionId: "insp",
      correlationId: randomUUID(),
      externalUserId: crashedId,
      levelName: "basic-kyc-level",
      type: "applicantReviewed",
      reviewResult: { reviewAnswer: "GREEN" },
      reviewStatus: "completed",
      createdAtMs: new Date().toISOString().replace("T", " ").replace("Z", ""),
    });
    expect((await webhook("/kyc/sumsub", body, sumsubHeaders(SUMSUB_WEBHOOK_SECRET, body))).status).toBe(202);
    const [a, b] = await Promise.all([withVault(retried), withVault(crashedId)]);
    expect(crashOnce.has(crashedId)).toBe(false);
    expect(vaultsOf(retried)).toHaveLength(1);
    expect(vaultsOf(crashedId)).toHaveLength(1);
    expect(a.vaultId).toBe(vaultsOf(retried)[0]!.id);
    expect(b.vaultId).toBe(vaultsOf(crashedId)[0]!.id);
    expect(b.depositAddress).toBe(vaultsOf(crashedId)[0]!.assets.get("ETH_TEST5")!.address);
    expect(fb.requests.some((r) => r.status === 503)).toBe(true);
    // The rerun after the crash found the vault by name and customerRefId instead of creating one.
    await jobDone("custody-vaults", `custody-vault-${crashedId}`);
    expect((await c.queues.queue("custody-vaults").getJob(`custody-vault-${crashedId}`))?.returnvalue).toEqual(expect.objectContaining({ outcome: "found" }));
  });

  it("POST /api/custody/transfers creates one Fireblocks transaction even when its answer is lost (duplicate externalTxId -> lookup); signed webhooks move it to COMPLETED", async () => {
    const investor = await approvedInvestor();
    const { vaultId } = await withVault(investor);
    const id = `tr-${randomUUID()}`;
    const transfer = { id, vaultId, assetId: "ETH_TEST5", amount: "0.123456789012345678", destination: { type: "ONE_TIME_ADDRESS", address: randomWallet() } };

    // Bad input: 400 naming the field, nothing stored.
    const bad = await api("POST", "/custody/transfers", { ...transfer, amount: 0.1 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("amount");
    expect((await api("GET", `/custody/transfers/${id}`)).status).toBe(404);

    fb.loseNextAnswer("/v1/transactions");
    const created = await api("POST", "/custody/transfers", transfer);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id, vaultId, amount: "0.123456789012345678", fireblocks: null });
    const linked = await waitFor(
      async () => {
        const r = (await api("GET", `/custody/transfers/${id}`)).body;
        return r.fireblocks ? r : undefined;
      },
      30_000,
      "transfer linked to its Fireblocks transaction",
    );
    const txs = [...fb.transactions.values()].filter((t) => t.externalTxId === id);
    expect(txs).toHaveLength(1);
    const tx = txs[0]!;
    expect(tx).toMatchObject({ operation: "TRANSFER", assetId: "ETH_TEST5", amount: "0.123456789012345678", source: { type: "VAULT_ACCOUNT", id: vaultId } });
    expect(tx.destination).toEqual({ type: "ONE_TIME_ADDRESS", oneTimeAddress: { address: transfer.destination.address } });
    expect(linked.fireblocks).toMatchObject({ id: tx.id, status: "SUBMITTED" });
    // The first create's answer was lost; the retry was refused as a duplicate and looked it up.
    expect(fb.requests.filter((r) => r.path === "/v1/transactions").map((r) => r.status)).toContain(400);
    expect(fb.requests.some((r) => r.path === `/v1/transactions/external_tx_id/${id}` && r.status === 200)).toBe(true);
    expect((await c.queues.queue("custody-transfers").getJob(`custody-transfer-${id}`))?.returnvalue).toEqual(expect.objectContaining({ outcome: "found" }));

    // Idempotent create: identical repeat 200 (queues nothing new), different amount 409.
    expect((await api("POST", "/custody/transfers", transfer)).status).toBe(200);
    expect((await api("POST", "/custody/transfers", { ...transfer, amount: "0.123456789012345679" })).status).toBe(409);

    // Fireblocks moves it on; each status change arrives as a signed webhook v2 (the stub's JWKS).
    for (const [status, txHash] of [
      ["BROADCASTING", ""],
      ["CONFIRMING", "0xfeed"],
      ["COMPLETED", "0xfeed"],
    ] as const) {
      expect(await fb.setStatus(tx.id, status, txHash)).toBe(202);
    }
    expect(fb.webhooks.filter((w) => w.txId === tx.id).map((w) => [w.eventType, w.status, w.delivered])).toEqual([
      ["transaction.created", "SUBMITTED", 202],
      ["transaction.status.updated", "BROADCASTING", 202],
      ["transaction.status.updated", "CONFIRMING", 202],
      ["transaction.status.updated", "COMPLETED", 202],
    ]);
    // A v1 webhook (RSA-SHA512) of an older status changes nothing: the lifecycle only moves forward.
    const stale = JSON.stringify({
      type: "TRANSACTION_STATUS_UPDATED",
      tenantId: "tenant",
      timestamp: Date.now(),
      data: { ...tx, status: "QUEUED", txHash: "" },
    });
    const staleDelivery = await webhook("/custody/fireblocks", stale, fireblocksV1Headers(webhookKeys.privateKey, stale));
    expect(staleDelivery.status).toBe(202);
    await jobDone("custody-fireblocks", staleDelivery.body.jobId);
    const done = await waitFor(
      async () => {
        const r = (await api("GET", `/custody/transfers/${id}`)).body;
        return r.fireblocks?.status === "COMPLETED" ? r : undefined;
      },
      30_000,
      "transfer COMPLETED",
    );
    expect(done.fireblocks).toMatchObject({ id: tx.id, status: "COMPLETED", txHash: "0xfeed", finishedAt: expect.any(String) });
    expect([...fb.transactions.values()].filter((t) => t.externalTxId === id)).toHaveLength(1);
  });
});

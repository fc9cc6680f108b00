import { generateKeyPairSync, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFireblocksApi, createTransactionOnce, fireblocksToken } from "../src/clients/fireblocks-api.js";
import { ProviderError } from "../src/clients/http-error.js";
import { type FireblocksApiStub, startFireblocksApiStub } from "../src/dev/stubs/fireblocks-api.js";

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
    expect(again).toEqual({ id: first.id, status: "SUBMITTED", existing: true });
    expect([...fb.transactions.values()].filter((x) => x.externalTxId === t.externalTxId)).toHaveLength(1);
    expect((await api.transaction(first.id)).amount).toBe("0.000000000000000001");
    expect(await api.transactionByExternalId("never-created")).toBeUndefined();
  });
});

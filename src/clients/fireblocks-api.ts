import { createHash, createPrivateKey, type KeyObject, randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type { Registry } from "prom-client";
import { z } from "zod";
import { createBreaker, type BreakerOptions, watchBreaker } from "./breaker.js";
import { callProvider, jsonBody, ProviderError } from "./http-error.js";

/** How long a request's JWT is valid; Fireblocks refuses one whose `exp` is more than 30 s after `iat`. */
const TOKEN_TTL_SECONDS = 25;

/** Hex SHA-256 of the raw request body (`""` for a request without one), the JWT's `bodyHash`. */
export const fireblocksBodyHash = (raw: string) => createHash("sha256").update(raw).digest("hex");

/**
 * The Bearer token of one Fireblocks API request
 * (https://developers.fireblocks.com/reference/signing-a-request-jwt-structure): a JWT signed
 * RS256 with the API secret key, whose claims bind it to this request (`uri`: path and query,
 * `bodyHash`), to this API user (`sub`) and to a short window (`iat`, `exp`), with a fresh
 * `nonce` so it cannot be replayed.
 */
export async function fireblocksToken(opts: { apiKey: string; key: KeyObject; uri: string; body: string; nowSeconds: number }): Promise<string> {
  return new SignJWT({ uri: opts.uri, nonce: randomUUID(), bodyHash: fireblocksBodyHash(opts.body) })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setSubject(opts.apiKey)
    .setIssuedAt(opts.nowSeconds)
    .setExpirationTime(opts.nowSeconds + TOKEN_TTL_SECONDS)
    .sign(opts.key);
}

const vaultSchema = z.looseObject({ id: z.string().min(1), name: z.string(), customerRefId: z.string().nullish(), autoFuel: z.boolean().nullish() });
const pagedVaultsSchema = z.looseObject({ accounts: z.array(vaultSchema).nullish(), paging: z.looseObject({ after: z.string().nullish() }).nullish() });
const vaultAssetSchema = z.looseObject({ id: z.string().nullish(), address: z.string().min(1) });
const addressesSchema = z.looseObject({ addresses: z.array(z.looseObject({ address: z.string().min(1) })) });
const createdTxSchema = z.looseObject({ id: z.string().min(1), status: z.string() });
const transactionSchema = z.looseObject({
  id: z.string().min(1),
  externalTxId: z.string().nullish(),
  status: z.string(),
  subStatus: z.string().nullish(),
  txHash: z.string().nullish(),
  operation: z.string().nullish(),
  source: z.looseObject({ type: z.string().nullish(), id: z.string().nullish() }).nullish(),
  /** The address a transaction went to (for a ONE_TIME_ADDRESS destination, that address). */
  destinationAddress: z.string().nullish(),
  /** The revert reason when `subStatus` is SMART_CONTRACT_EXECUTION_FAILED. */
  errorDescription: z.string().nullish(),
});

export type FireblocksVault = z.output<typeof vaultSchema>;
export type FireblocksTransaction = z.output<typeof transactionSchema>;

/** A transfer peer (https://developers.fireblocks.com/reference/transaction-sources-destinations). */
export type FireblocksPeer =
  | { type: "VAULT_ACCOUNT" | "EXTERNAL_WALLET" | "INTERNAL_WALLET"; id: string }
  | { type: "ONE_TIME_ADDRESS"; oneTimeAddress: { address: string; tag?: string } };

/** The fields of `POST /v1/transactions` hookrail sends. `amount` is an exact decimal string. */
export interface FireblocksTransactionRequest {
  operation: "TRANSFER" | "CONTRACT_CALL";
  externalTxId: string;
  assetId: string;
  amount: string;
  source: FireblocksPeer;
  destination: FireblocksPeer;
  note?: string;
  extraParameters?: Record<string, unknown>;
  /** Fireblocks prices the transaction at this level of its own estimate... */
  feeLevel?: "LOW" | "MEDIUM" | "HIGH";
  /** ...but never above this fee per gas (EVM: gwei, an exact decimal string). */
  maxFee?: string;
}

/** The part of Fireblocks' API hookrail calls. Every method throws ProviderError on failure. */
export interface FireblocksApi {
  /** `POST /v1/vault/accounts`; the Idempotency-Key makes a resend within 24 h answer the first vault. */
  createVaultAccount(v: { name: string; customerRefId: string; autoFuel: boolean }, idempotencyKey: string): Promise<FireblocksVault>;
  /** `GET /v1/vault/accounts_paged?namePrefix=`: every page. */
  vaultAccountsByName(namePrefix: string): Promise<FireblocksVault[]>;
  /** `POST /v1/vault/accounts/{id}/{assetId}`: the asset wallet and its deposit address. */
  createVaultAsset(vaultId: string, assetId: string, idempotencyKey: string): Promise<{ address: string }>;
  /** `GET /v1/vault/accounts/{id}/{assetId}/addresses_paginated`: the wallet's addresses (empty when it has none). */
  vaultAssetAddresses(vaultId: string, assetId: string): Promise<string[]>;
  /** `POST /v1/transactions`. Fireblocks refuses a second transaction with the same externalTxId (400). */
  createTransaction(t: FireblocksTransactionRequest): Promise<{ id: string; status: string }>;
  /** `GET /v1/transactions/external_tx_id/{externalTxId}`; undefined on 404. */
  transactionByExternalId(externalTxId: string): Promise<FireblocksTransaction | undefined>;
  /** `GET /v1/transactions/{txId}`. */
  transaction(id: string): Promise<FireblocksTransaction>;
  /** When an open breaker next lets a call through (present behind a breaker). */
  retryAfterMs?(): number;
}

export interface FireblocksApiOptions {
  baseUrl: string;
  apiKey: string;
  /** The API secret key, PEM or a key object. */
  secretKey: string | KeyObject;
  timeoutMs: number;
  now?: () => number;
}

/**
 * Fireblocks' REST API. Every request carries X-API-Key and a fresh signed JWT (fireblocksToken).
 * Errors answer `{message, code}` and are classified by callProvider (429 and 5xx retryable);
 * neither the secret key nor a token is ever part of an error message.
 */
export function createFireblocksApi(opts: FireblocksApiOptions): FireblocksApi {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const key = typeof opts.secretKey === "string" ? createPrivateKey(opts.secretKey) : opts.secretKey;
  const now = opts.now ?? Date.now;
  const call = async (method: "GET" | "POST", pathWithQuery: string, what: string, body?: unknown, extra: Record<string, string> = {}) => {
    const url = new URL(`${base}${pathWithQuery}`);
    const raw = body === undefined ? "" : JSON.stringify(body);
    const token = await fireblocksToken({ apiKey: opts.apiKey, key, uri: `${url.pathname}${url.search}`, body: raw, nowSeconds: Math.floor(now() / 1000) });
    const headers: Record<string, string> = { accept: "application/json", "X-API-Key": opts.apiKey, authorization: `Bearer ${token}`, ...extra };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await callProvider(
      url,
      { method, headers, body: body === undefined ? undefined : raw },
      {
        provider: "Fireblocks",
        timeoutMs: opts.timeoutMs,
        refused: `refused to ${what}`,
      },
    );
    return jsonBody(res, "Fireblocks");
  };
  const parse = <S extends z.ZodType>(schema: S, v: unknown, what: string): z.output<S> => {
    const r = schema.safeParse(v);
    if (!r.success) throw new ProviderError(`Fireblocks ${what} has an unexpected shape`, "bad_response", true);
    return r.data;
  };
  const seg = encodeURIComponent;
  return {
    async createVaultAccount(v, idempotencyKey) {
      const body = { name: v.name, customerRefId: v.customerRefId, autoFuel: v.autoFuel, hiddenOnUI: false };
      return parse(
        vaultSchema,
        await call("POST", "/v1/vault/accounts", "create the vault account", body, { "Idempotency-Key": idempotencyKey }),
        "vault account",
      );
    },
    async vaultAccountsByName(namePrefix) {
      const found: FireblocksVault[] = [];
      let after: string | undefined;
      do {
        const q = new URLSearchParams({ namePrefix, limit: "200", ...(after ? { after } : {}) });
        const page = parse(pagedVaultsSchema, await call("GET", `/v1/vault/accounts_paged?${q}`, "list vault accounts"), "vault accounts page");
        found.push(...(page.accounts ?? []));
        after = page.paging?.after ?? undefined;
      } while (after);
      return found;
    },
    async createVaultAsset(vaultId, assetId, idempotencyKey) {
      const r = await call("POST", `/v1/vault/accounts/${seg(vaultId)}/${seg(assetId)}`, "create the asset wallet", {}, { "Idempotency-Key": idempotencyKey });
      return { address: parse(vaultAssetSchema, r, "asset wallet").address };
    },
    async vaultAssetAddresses(vaultId, assetId) {
      const r = await call("GET", `/v1/vault/accounts/${seg(vaultId)}/${seg(assetId)}/addresses_paginated`, "list the wallet's addresses");
      return parse(addressesSchema, r, "addresses").addresses.map((a) => a.address);
    },
    async createTransaction(t) {
      return parse(createdTxSchema, await call("POST", "/v1/transactions", "create the transaction", t), "created transaction");
    },
    async transactionByExternalId(externalTxId) {
      try {
        return parse(transactionSchema, await call("GET", `/v1/transactions/external_tx_id/${seg(externalTxId)}`, "return the transaction"), "transaction");
      } catch (err) {
        if (err instanceof ProviderError && err.status === 404) return undefined;
        throw err;
      }
    },
    async transaction(id) {
      return parse(transactionSchema, await call("GET", `/v1/transactions/${seg(id)}`, "return the transaction"), "transaction");
    },
  };
}

/**
 * Create a transaction exactly once by its externalTxId. Fireblocks refuses a second one with
 * the same id (400) and recommends looking it up after any failure whose outcome is unknown
 * (https://support.fireblocks.io/hc/en-us/articles/15109492473500): so a refused create, or a
 * retry after a lost answer, finds the transaction our earlier attempt created. A refusal for
 * which no transaction exists is a real refusal and is thrown.
 */
export async function createTransactionOnce(
  api: FireblocksApi,
  t: FireblocksTransactionRequest,
  /** Is the transaction found under this externalTxId the one `t` asks for? (A different one is refused, not adopted.) */
  isOurs: (found: FireblocksTransaction) => boolean = () => true,
): Promise<{ id: string; status: string; existing: boolean; subStatus?: string | null | undefined; txHash?: string | null | undefined }> {
  try {
    const created = await api.createTransaction(t);
    return { ...created, existing: false };
  } catch (err) {
    if (!(err instanceof ProviderError) || err.status !== 400) throw err;
    const found = await api.transactionByExternalId(t.externalTxId);
    if (!found) throw err;
    if (!isOurs(found)) {
      throw new ProviderError(`Fireblocks already holds a different transaction ${found.id} under externalTxId ${t.externalTxId}`, "http_4xx", false, 400);
    }
    // The one found may be far along already (even COMPLETED): its hash comes with it.
    return { id: found.id, status: found.status, existing: true, subStatus: found.subStatus, txHash: found.txHash };
  }
}

/**
 * The API behind one breaker: during an outage, jobs are postponed (circuitCall) instead of
 * spending their attempts on timeouts. A refusal (4xx) is about one request and does not count.
 */
export function fireblocksBehindBreaker(api: FireblocksApi, opts: BreakerOptions, registry?: Registry): FireblocksApi {
  const breaker = createBreaker(
    (op: () => Promise<unknown>) => op(),
    opts,
    (err) => err instanceof ProviderError && !err.retryable,
  );
  if (registry) watchBreaker(registry, "fireblocks", breaker);
  const fire = <R>(op: () => Promise<R>) => breaker.fire(op) as Promise<R>;
  return {
    createVaultAccount: (v, k) => fire(() => api.createVaultAccount(v, k)),
    vaultAccountsByName: (p) => fire(() => api.vaultAccountsByName(p)),
    createVaultAsset: (v, a, k) => fire(() => api.createVaultAsset(v, a, k)),
    vaultAssetAddresses: (v, a) => fire(() => api.vaultAssetAddresses(v, a)),
    createTransaction: (t) => fire(() => api.createTransaction(t)),
    transactionByExternalId: (id) => fire(() => api.transactionByExternalId(id)),
    transaction: (id) => fire(() => api.transaction(id)),
    retryAfterMs: () => breaker.retryAfterMs(),
  };
}

interface FireblocksApiConfig {
  FIREBLOCKS_API_URL?: string;
  FIREBLOCKS_API_KEY?: string;
  FIREBLOCKS_API_SECRET_KEY?: string;
  FIREBLOCKS_TIMEOUT_MS: number;
}

/** The Fireblocks API client when its settings are present (behind its breaker), else undefined. */
export function buildFireblocksApi(config: FireblocksApiConfig, registry?: Registry): FireblocksApi | undefined {
  if (!config.FIREBLOCKS_API_URL || !config.FIREBLOCKS_API_KEY || !config.FIREBLOCKS_API_SECRET_KEY) return undefined;
  const api = createFireblocksApi({
    baseUrl: config.FIREBLOCKS_API_URL,
    apiKey: config.FIREBLOCKS_API_KEY,
    secretKey: config.FIREBLOCKS_API_SECRET_KEY,
    timeoutMs: config.FIREBLOCKS_TIMEOUT_MS,
  });
  return fireblocksBehindBreaker(
    api,
    // A vault listing may take several pages; the breaker's timeout is the last resort above each request's.
    { timeoutMs: 3 * config.FIREBLOCKS_TIMEOUT_MS + 1_000, errorThresholdPercentage: 50, resetTimeoutMs: 30_000, volumeThreshold: 5 },
    registry,
  );
}

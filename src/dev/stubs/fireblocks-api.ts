// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CompactSign, compactVerify, exportJWK, type JWK } from "jose";
import { createPublicClient, createWalletClient, http, parseEther, parseGwei, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

/**
 * A local stand-in for the part of Fireblocks' API (https://developers.fireblocks.com/reference)
 * hookrail calls. Every request is authenticated as Fireblocks documents it
 * (https://developers.fireblocks.com/reference/signing-a-request-jwt-structure): X-API-Key, and
 * `Authorization: Bearer <JWT>` signed RS256 with the API user's secret key, whose claims are
 * `uri` (path and query of this request), `nonce` (never seen before), `iat`, `exp` (after now,
 * at most 30 s after iat), `sub` (the API key) and `bodyHash` (hex SHA-256 of the raw body).
 * Anything else answers 401 `{message, code}` with Fireblocks' documented codes (-1 invalid
 * signature, -2 no API key in the JWT, -3 no JWT, -4 wrong URL, -6 wrong user, -7 token not
 * accepted, -10 expired, -12 future iat).
 *
 * - `POST /v1/vault/accounts` `{name, customerRefId, autoFuel, hiddenOnUI}`; an `Idempotency-Key`
 *   seen before answers the first response again (Fireblocks keeps them 24 h), for every POST.
 * - `GET /v1/vault/accounts_paged?namePrefix=&limit=&after=` -> `{accounts, paging: {after}}`.
 * - `POST /v1/vault/accounts/{id}/{assetId}` -> `{id, address, ...}`; a wallet that exists: 400.
 * - `GET /v1/vault/accounts/{id}/{assetId}/addresses_paginated` -> `{addresses: [...]}`.
 * - `POST /v1/transactions` -> `{id, status: "SUBMITTED"}`; an externalTxId already used answers
 *   400 (Fireblocks "will not process any additional transaction requests with the same value").
 * - `GET /v1/transactions/external_tx_id/{id}` and `GET /v1/transactions/{id}`: the transaction or 404.
 *
 * The authentication codes and the vault ones (1002, 1004, 1006) are from Fireblocks' error
 * table; the two duplicate refusals' codes (1026, 1438) and 1400 are not in it, and hookrail's
 * client reads only the HTTP status.
 *
 * Webhooks v2: with `webhookUrl` set, every transaction created sends `transaction.created` and
 * every `setStatus` `transaction.status.updated` there, `{id, eventType, eventVersion,
 * resourceId, createdAt, workspaceId, data}` signed with a detached RS512 JWS in
 * `Fireblocks-Webhook-Signature` whose key is published at `GET /.well-known/jwks.json` (the
 * stand-in for https://keys.fireblocks.io/.well-known/jwks.json; not authenticated).
 * `autoAdvance` (dev mode) moves each new transaction on to COMPLETED by itself.
 *
 * Signer vault (option `chain`): a vault whose wallet for `assetId` is the given key's address.
 * A `CONTRACT_CALL` from it (`destination.oneTimeAddress.address`, `extraParameters.contractCallData`,
 * `amount` in ether) is really executed on that chain with the key, one at a time as
 * Fireblocks' own nonce management would: SUBMITTED -> BROADCASTING (with `txHash`) ->
 * CONFIRMING -> COMPLETED (subStatus CONFIRMED) once the receipt has `confirmations` blocks, or
 * FAILED with subStatus SMART_CONTRACT_EXECUTION_FAILED and `errorDescription` when the call
 * reverts (in a block, or already in the estimate, then without a hash).
 *
 * `failNext = n` answers the next n authenticated requests 503, `rateLimitNext(path, n)` those to a path 429. `loseNextAnswer(path)` carries
 * out the next request to that path and then drops the connection without answering (an answer
 * lost on the way). `setStatus` moves a transaction, as Fireblocks' processing would, and
 * resolves with the receiver's HTTP status for its webhook (undefined without `webhookUrl`).
 */
export interface FireblocksApiStub {
  url: string;
  apiKey: string;
  /** The API user's secret key (the client signs with it); its public half verifies here. */
  secretKey: KeyObject;
  secretKeyPem: string;
  vaults: Map<string, StubVault>;
  transactions: Map<string, StubTransaction>;
  requests: { method: string; path: string; status: number; code?: number }[];
  failNext: number;
  /** Where webhooks v2 go (e.g. `http://127.0.0.1:3000/webhooks/custody/fireblocks`); unset = none sent. */
  webhookUrl: string | undefined;
  /** `{eventType, txId, status, delivered}` of every webhook sent. */
  webhooks: { eventType: string; txId: string; status: string; delivered: number | undefined }[];
  /** The JWKS document's URL (FIREBLOCKS_JWKS_URL). */
  jwksUrl: string;
  /** The key webhooks are signed with and its `kid`, to publish in another JWKS (dev mode's). */
  webhookSigningKey: KeyObject;
  webhookKid: string;
  /** With `chain`: the signer vault's id and its wallet's address (FIREBLOCKS_SIGNER_VAULT_ID, FIREBLOCKS_SIGNER_ADDRESS). */
  signerVaultId: string | undefined;
  signerAddress: Address | undefined;
  /** The next n authenticated requests to `path` answer 429 (Fireblocks' rate limit). */
  rateLimitNext(path: string, n: number): void;
  /** The next n contract calls from the signer vault are blocked by policy (BLOCKED, BLOCKED_BY_POLICY) instead of run. */
  blockNext: number;
  loseNextAnswer(path: string): void;
  setStatus(id: string, status: string, txHash?: string): Promise<number | undefined>;
  close(): Promise<void>;
}

export interface StubVault {
  id: string;
  name: string;
  customerRefId: string | null;
  autoFuel: boolean;
  hiddenOnUI: boolean;
  assets: Map<string, { id: string; address: string }>;
}

export interface StubTransaction {
  id: string;
  externalTxId: string | null;
  status: string;
  subStatus: string;
  txHash: string;
  operation: string;
  assetId: string;
  amount: string;
  source: unknown;
  destination: unknown;
  /** Where it went, as Fireblocks' TransactionResponse says (a one-time address, or a vault's wallet). */
  destinationAddress: string;
  extraParameters?: unknown;
  /** As requested: LOW, MEDIUM or HIGH. */
  feeLevel?: string;
  /** As requested: the most per gas (gwei, decimal string) the stub's chain execution pays. */
  maxFee?: string;
  errorDescription?: string;
  createdAt: number;
  lastUpdated: number;
}

const MAX_TOKEN_LIFETIME_S = 30;
const FEE_LEVELS = ["LOW", "MEDIUM", "HIGH"];

/** The node's own EIP-1559 bid (viem's), each part at most `cap`. */
async function cappedFees(pub: PublicClient, cap: bigint): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
  const bid = await pub.estimateFeesPerGas();
  const min = (a: bigint, b: bigint) => (a < b ? a : b);
  return { maxFeePerGas: min(bid.maxFeePerGas, cap), maxPriorityFeePerGas: min(bid.maxPriorityFeePerGas, cap) };
}

const destinationAddressOf = (d: unknown): string => {
  const address = (d as { oneTimeAddress?: { address?: unknown } } | undefined)?.oneTimeAddress?.address;
  return typeof address === "string" ? address : "";
};
// Clock skew tolerated for iat in the future.
const FUTURE_IAT_SKEW_S = 5;

const vaultView = (v: StubVault) => ({
  id: v.id,
  name: v.name,
  hiddenOnUI: v.hiddenOnUI,
  customerRefId: v.customerRefId,
  autoFuel: v.autoFuel,
  assets: [...v.assets.values()].map((a) => ({ id: a.id, total: "0", balance: "0", available: "0", pending: "0", frozen: "0", lockedAmount: "0" })),
});

export interface FireblocksStubChain {
  rpcUrl: string;
  chainId: number;
  /** The signer vault's key (Fireblocks' MPC key, here a plain one). */
  privateKey: Hex;
  /** The signer vault's asset id (default ETH). */
  assetId?: string;
  /** Blocks on the receipt before COMPLETED (default 1). */
  confirmations?: number;
}

export async function startFireblocksApiStub(
  apiKey = randomUUID(),
  opts: { autoAdvance?: boolean; chain?: FireblocksStubChain } = {},
): Promise<FireblocksApiStub> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const webhookKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const kid = randomBytes(8).toString("hex");
  const jwks = { keys: [{ ...(await exportJWK(createPublicKey(webhookKey))), kid, use: "sig", alg: "RS512" } as JWK] };
  const workspaceId = randomUUID();
  const nonces = new Set<string>();
  const idempotent = new Map<string, { status: number; json: unknown }>();
  const byExternal = new Map<string, string>();
  const losing = new Map<string, number>();
  const limited = new Map<string, number>();
  let nextVaultId = 0;
  const stub = {
    apiKey,
    webhookSigningKey: webhookKey,
    webhookKid: kid,
    secretKey: privateKey,
    secretKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    vaults: new Map(),
    transactions: new Map(),
    requests: [],
    failNext: 0,
    blockNext: 0,
    rateLimitNext: (path: string, n: number) => limited.set(path, (limited.get(path) ?? 0) + n),
    webhookUrl: undefined,
    webhooks: [],
    loseNextAnswer: (path: string) => losing.set(path, (losing.get(path) ?? 0) + 1),
    setStatus(id: string, status: string, txHash?: string) {
      return move(id, status, txHash ? { txHash } : {});
    },
  } as unknown as FireblocksApiStub;

  function move(id: string, status: string, more: { txHash?: string; subStatus?: string; errorDescription?: string } = {}) {
    const tx = stub.transactions.get(id);
    if (!tx) throw new Error(`no transaction ${id}`);
    tx.status = status;
    if (more.txHash) tx.txHash = more.txHash;
    if (more.subStatus !== undefined) tx.subStatus = more.subStatus;
    if (more.errorDescription) tx.errorDescription = more.errorDescription;
    tx.lastUpdated = Date.now();
    return emit("transaction.status.updated", tx);
  }

  // The signer vault: its contract calls run on the chain, one at a time (one nonce sequence).
  const chain = opts.chain;
  const signerAccount = chain ? privateKeyToAccount(chain.privateKey) : undefined;
  const chainClients = chain
    ? {
        public: createPublicClient({ transport: http(chain.rpcUrl), pollingInterval: 50 }),
        wallet: createWalletClient({ account: signerAccount!, transport: http(chain.rpcUrl) }),
      }
    : undefined;
  let executing: Promise<void> = Promise.resolve();
  const execute = (tx: StubTransaction) => {
    executing = executing.then(() => executeOnChain(tx)).catch(() => {});
  };
  async function executeOnChain(tx: StubTransaction): Promise<void> {
    const { public: pub, wallet } = chainClients!;
    const destination = tx.destination as { oneTimeAddress?: { address?: string } } | undefined;
    const to = destination?.oneTimeAddress?.address as Address;
    const data = (tx.extraParameters as { contractCallData?: string } | undefined)?.contractCallData as Hex;
    const value = parseEther(tx.amount || "0");
    if (stub.blockNext > 0) {
      stub.blockNext -= 1;
      await move(tx.id, "BLOCKED", { subStatus: "BLOCKED_BY_POLICY" });
      return;
    }
    await move(tx.id, "PENDING_SIGNATURE");
    let hash: Hex;
    try {
      const gas = await pub.estimateGas({ account: signerAccount!, to, data, value });
      // maxFee bounds what the vault pays per gas, whatever the fee level would bid; above the
      // base fee the call waits in the pool, as Fireblocks' own would.
      const cap = tx.maxFee === undefined ? undefined : parseGwei(tx.maxFee);
      const fees = cap === undefined ? {} : await cappedFees(pub, cap);
      hash = await wallet.sendTransaction({ chain: null, to, data, value, gas: (gas * 12n) / 10n, ...fees });
    } catch (err) {
      await move(tx.id, "FAILED", {
        subStatus: "SMART_CONTRACT_EXECUTION_FAILED",
        errorDescription: (err as { shortMessage?: string }).shortMessage ?? String(err),
      });
      return;
    }
    await move(tx.id, "BROADCASTING", { txHash: hash });
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 600_000 });
    await move(tx.id, "CONFIRMING", { subStatus: "PENDING_BLOCKCHAIN_CONFIRMATIONS" });
    if (receipt.status !== "success") {
      await move(tx.id, "FAILED", { subStatus: "SMART_CONTRACT_EXECUTION_FAILED", errorDescription: "execution reverted" });
      return;
    }
    const need = BigInt(chain!.confirmations ?? 1);
    while ((await pub.getBlockNumber({ cacheTime: 0 })) - receipt.blockNumber + 1n < need) await new Promise((r) => setTimeout(r, 100));
    await move(tx.id, "COMPLETED", { subStatus: "CONFIRMED" });
  }

  async function emit(eventType: string, tx: StubTransaction): Promise<number | undefined> {
    const url = stub.webhookUrl;
    if (!url) return undefined;
    const body = JSON.stringify({ id: randomUUID(), eventType, eventVersion: 1, resourceId: tx.id, createdAt: Date.now(), workspaceId, data: tx });
    const jws = await new CompactSign(Buffer.from(body)).setProtectedHeader({ alg: "RS512", kid }).sign(webhookKey);
    const [header, , signature] = jws.split(".");
    let delivered: number | undefined;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "fireblocks-webhook-signature": `${header}..${signature}` },
        body,
      });
      await res.body?.cancel();
      delivered = res.status;
    } catch {
      delivered = undefined;
    }
    stub.webhooks.push({ eventType, txId: tx.id, status: tx.status, delivered });
    return delivered;
  }

  // Dev mode: Fireblocks' processing of a new transaction, one status every few hundred ms.
  function advance(id: string) {
    const steps = ["BROADCASTING", "CONFIRMING", "COMPLETED"];
    const txHash = `0x${randomBytes(32).toString("hex")}`;
    const next = (i: number) => {
      if (i >= steps.length) return;
      setTimeout(() => void stub.setStatus(id, steps[i]!, i > 0 ? txHash : undefined).finally(() => next(i + 1)), 300).unref();
    };
    next(0);
  }

  async function authenticate(req: { headers: Record<string, string | string[] | undefined>; url?: string }, body: string) {
    const auth = String(req.headers.authorization ?? "");
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!token) return { code: -3, message: "The entire JWT is missing" };
    if (req.headers["x-api-key"] !== apiKey) return { code: -7, message: "Unauthorized: Token was not accepted" };
    let claims: Record<string, unknown>;
    try {
      const { payload } = await compactVerify(token, publicKey, { algorithms: ["RS256"] });
      claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    } catch {
      return { code: -1, message: "Invalid signature" };
    }
    if (typeof claims.sub !== "string" || claims.sub === "") return { code: -2, message: "Missing API Key in the JWT" };
    if (claims.sub !== apiKey) return { code: -6, message: "Wrong User in the JWT" };
    if (claims.uri !== req.url) return { code: -4, message: "Wrong URL in the JWT" };
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== "number" || typeof exp !== "number") return { code: -5, message: "Unauthorized: Invalid token format" };
    if (iat > now + FUTURE_IAT_SKEW_S) return { code: -12, message: "The request is with a future issuance timestamp (iat)" };
    if (exp <= now || exp - iat > MAX_TOKEN_LIFETIME_S) return { code: -10, message: "The request has expired" };
    if (claims.bodyHash !== createHash("sha256").update(body).digest("hex")) return { code: -7, message: "Unauthorized: Token was not accepted" };
    if (typeof claims.nonce !== "string" && typeof claims.nonce !== "number") return { code: -5, message: "Unauthorized: Invalid token format" };
    const nonce = String(claims.nonce);
    if (nonces.has(nonce)) return { code: -7, message: "Unauthorized: Token was not accepted" };
    nonces.add(nonce);
    return undefined;
  }

  function route(method: string, path: string, query: URLSearchParams, b: Record<string, unknown> | undefined): { status: number; json: unknown } {
    const error = (status: number, code: number, message: string) => ({ status, json: { message, code } });
    if (method === "POST" && path === "/v1/vault/accounts") {
      if (typeof b?.name !== "string" || b.name === "") return error(400, 1002, "Create Vault Account failed: name is required");
      const vault: StubVault = {
        id: String(nextVaultId++),
        name: b.name,
        customerRefId: typeof b.customerRefId === "string" ? b.customerRefId : null,
        autoFuel: b.autoFuel === true,
        hiddenOnUI: b.hiddenOnUI === true,
        assets: new Map(),
      };
      stub.vaults.set(vault.id, vault);
      return { status: 200, json: vaultView(vault) };
    }
    if (method === "GET" && path === "/v1/vault/accounts_paged") {
      const prefix = query.get("namePrefix") ?? "";
      const limit = Math.min(Number(query.get("limit") ?? 200) || 200, 500);
      const after = Number(query.get("after") ?? 0) || 0;
      const matching = [...stub.vaults.values()].filter((v) => v.name.startsWith(prefix));
      const page = matching.slice(after, after + limit);
      return { status: 200, json: { accounts: page.map(vaultView), paging: after + limit < matching.length ? { after: String(after + limit) } : {} } };
    }
    const wallet = /^\/v1\/vault\/accounts\/([^/]+)\/([^/]+)$/.exec(path);
    if (method === "POST" && wallet) {
      const vault = stub.vaults.get(decodeURIComponent(wallet[1]!));
      if (!vault) return error(404, 1004, "Vault account Id was not found");
      const assetId = decodeURIComponent(wallet[2]!);
      if (vault.assets.has(assetId)) return error(400, 1026, `Asset wallet ${assetId} already exists in vault account ${vault.id}`);
      const asset = { id: assetId, address: `0x${randomBytes(20).toString("hex")}` };
      vault.assets.set(assetId, asset);
      return { status: 200, json: { id: `${vault.id}-${assetId}`, address: asset.address, legacyAddress: "", tag: "", eosAccountName: "" } };
    }
    const addresses = /^\/v1\/vault\/accounts\/([^/]+)\/([^/]+)\/addresses_paginated$/.exec(path);
    if (method === "GET" && addresses) {
      const vault = stub.vaults.get(decodeURIComponent(addresses[1]!));
      if (!vault) return error(404, 1004, "Vault account Id was not found");
      const asset = vault.assets.get(decodeURIComponent(addresses[2]!));
      if (!asset) return error(404, 1006, "Asset doesn't exist");
      return { status: 200, json: { addresses: [{ assetId: asset.id, address: asset.address, type: "Permanent", addressFormat: "BASE" }], paging: {} } };
    }
    if (method === "POST" && path === "/v1/transactions") {
      const externalTxId = typeof b?.externalTxId === "string" ? b.externalTxId : null;
      if (typeof b?.assetId !== "string" || typeof b.source !== "object") return error(400, 1400, "assetId and source are required");
      if (externalTxId && byExternal.has(externalTxId)) return error(400, 1438, "Transaction with this externalTxId already exists");
      if (b.feeLevel !== undefined && !FEE_LEVELS.includes(b.feeLevel as string)) return error(400, 1400, `feeLevel must be one of ${FEE_LEVELS.join(", ")}`);
      if (b.maxFee !== undefined && (typeof b.maxFee !== "string" || !/^[0-9]+(\.[0-9]{1,9})?$/.test(b.maxFee)))
        return error(400, 1400, "maxFee must be a numeric string");
      const now = Date.now();
      const tx: StubTransaction = {
        id: randomUUID(),
        externalTxId,
        status: "SUBMITTED",
        subStatus: "",
        txHash: "",
        operation: typeof b.operation === "string" ? b.operation : "TRANSFER",
        assetId: b.assetId,
        amount: typeof b.amount === "string" ? b.amount : String(b.amount ?? ""),
        source: b.source,
        destination: b.destination,
        destinationAddress: destinationAddressOf(b.destination),
        ...(b.extraParameters ? { extraParameters: b.extraParameters } : {}),
        ...(typeof b.feeLevel === "string" ? { feeLevel: b.feeLevel } : {}),
        ...(typeof b.maxFee === "string" ? { maxFee: b.maxFee } : {}),
        createdAt: now,
        lastUpdated: now,
      };
      const fromSigner = chain && (b.source as { type?: string; id?: string }).id === stub.signerVaultId && tx.operation === "CONTRACT_CALL";
      if (fromSigner) {
        const to = (b.destination as { oneTimeAddress?: { address?: unknown } } | undefined)?.oneTimeAddress?.address;
        const data = (b.extraParameters as { contractCallData?: unknown } | undefined)?.contractCallData;
        if (typeof to !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(to)) return error(400, 1400, "CONTRACT_CALL needs destination.oneTimeAddress.address");
        if (typeof data !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(data))
          return error(400, 1400, "CONTRACT_CALL needs extraParameters.contractCallData as hex");
        if (!/^[0-9]+(\.[0-9]{1,18})?$/.test(tx.amount)) return error(400, 1400, "amount must be a decimal string");
      }
      stub.transactions.set(tx.id, tx);
      if (externalTxId) byExternal.set(externalTxId, tx.id);
      void emit("transaction.created", tx).finally(() => {
        if (fromSigner) execute(tx);
        else if (opts.autoAdvance) advance(tx.id);
      });
      return { status: 200, json: { id: tx.id, status: tx.status } };
    }
    const ext = /^\/v1\/transactions\/external_tx_id\/([^/]+)$/.exec(path);
    if (method === "GET" && ext) {
      const id = byExternal.get(decodeURIComponent(ext[1]!));
      return id ? { status: 200, json: stub.transactions.get(id) } : error(404, 404, "Transaction not found");
    }
    const one = /^\/v1\/transactions\/([^/]+)$/.exec(path);
    if (method === "GET" && one) {
      const tx = stub.transactions.get(decodeURIComponent(one[1]!));
      return tx ? { status: 200, json: tx } : error(404, 404, "Transaction not found");
    }
    return error(404, 404, "Not found");
  }

  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const pathWithQuery = req.url ?? "/";
      const [path, query = ""] = pathWithQuery.split("?") as [string, string?];
      const method = req.method ?? "";
      if (method === "GET" && path === "/.well-known/jwks.json") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(jwks));
      }
      const answer = (status: number, json: unknown) => {
        const code = (json as { code?: number } | undefined)?.code;
        stub.requests.push({ method, path, status, ...(status >= 400 && typeof code === "number" ? { code } : {}) });
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      const refused = await authenticate(req, body);
      if (refused) return answer(401, refused);
      const limit = limited.get(path) ?? 0;
      if (limit > 0) {
        limited.set(path, limit - 1);
        return answer(429, { message: "Too Many Requests", code: 429 });
      }
      if (stub.failNext > 0) {
        stub.failNext -= 1;
        return answer(503, { message: "Service temporarily unavailable", code: 503 });
      }
      let json: Record<string, unknown> | undefined;
      try {
        json = body ? (JSON.parse(body) as Record<string, unknown>) : undefined;
      } catch {
        return answer(400, { message: "Request body is not JSON", code: 400 });
      }
      const key = method === "POST" ? req.headers["idempotency-key"] : undefined;
      const idemKey = typeof key === "string" ? `${path}\n${key}` : undefined;
      const result = (idemKey && idempotent.get(idemKey)) || route(method, path, new URLSearchParams(query), json);
      if (idemKey && result.status < 500) idempotent.set(idemKey, result);
      const lose = losing.get(path) ?? 0;
      if (lose > 0) {
        losing.set(path, lose - 1);
        stub.requests.push({ method, path, status: 0 });
        return req.socket.destroy();
      }
      answer(result.status, result.json);
    });
  });
  if (chain && signerAccount) {
    const assetId = chain.assetId ?? "ETH";
    const vault: StubVault = { id: String(nextVaultId++), name: "hookrail signer", customerRefId: null, autoFuel: false, hiddenOnUI: true, assets: new Map() };
    vault.assets.set(assetId, { id: assetId, address: signerAccount.address });
    stub.vaults.set(vault.id, vault);
    stub.signerVaultId = vault.id;
    stub.signerAddress = signerAccount.address;
  }
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.jwksUrl = `${stub.url}/.well-known/jwks.json`;
  stub.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return stub;
}

import { createHash } from "node:crypto";
import { UnrecoverableError } from "bullmq";
import type { Kysely } from "kysely";
import { z } from "zod";
import type { FireblocksApi } from "../../clients/fireblocks-api.js";
import { ProviderError } from "../../clients/http-error.js";
import type { Database } from "../../db/schema.js";
import { circuitCall } from "../../queues/provider-call.js";
import { DAY_SECONDS, defineQueue, type Processor } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";

/** Open a KYC-approved investor's Fireblocks vault and asset wallet (`custody-vault-<investor id>`). */
export const custodyVaultJobSchema = z.object({ investorId: z.string().min(1) });
export type CustodyVaultJob = z.output<typeof custodyVaultJobSchema>;

export const custodyVaultJobId = (investorId: string) => `custody-vault-${investorId}`;

/** One job per investor, ever: queued by every approval (a restatement finds the same job id). */
export async function enqueueCustodyVault(queues: QueueSet, investorId: string): Promise<void> {
  await queues.queue(custodyVaultsQueue.name).add("vault", { investorId } satisfies CustodyVaultJob, { jobId: custodyVaultJobId(investorId) });
}

/** The vault's name at Fireblocks: found again by `namePrefix`, told apart by customerRefId. */
export const vaultName = (investorId: string) => `hookrail-investor-${investorId}`;

// Fireblocks' Idempotency-Key is at most 40 characters; derived, so every attempt sends the same one.
const idempotencyKey = (...parts: string[]) => createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 40);

export interface VaultDeps {
  db: Kysely<Database>;
  /** Absent when the Fireblocks API is not configured: approvals then open no vault. */
  fireblocks?: FireblocksApi;
  assetId: string;
}

/**
 * Create the investor's vault and its asset wallet exactly once. A vault stored on the
 * investor is never created again. Before creating one, the job looks for a vault named for
 * the investor with their customerRefId (a crash after Fireblocks created it and before we
 * stored its id, any time later), and the create itself carries an Idempotency-Key derived
 * from the investor (two attempts racing within Fireblocks' 24 h get the same vault). The
 * wallet likewise: created with a derived key, and a refusal because it exists reads its
 * address instead. Each write only fills an empty slot.
 */
export const custodyVaultProcessor =
  (deps: VaultDeps): Processor<CustodyVaultJob> =>
  async ({ investorId }, job, log, token) => {
    const api = deps.fireblocks;
    if (!api) return { outcome: "not_configured", investorId };
    const investor = await deps.db.selectFrom("investors").selectAll().where("id", "=", investorId).executeTakeFirst();
    if (!investor) throw new UnrecoverableError(`no investor ${investorId}`);
    if (investor.kyc_status !== "approved") return { outcome: "not_approved", investorId };
    if (investor.custody_vault_id && investor.custody_deposit_address) return { outcome: "exists", investorId, vaultId: investor.custody_vault_id };
    const call = <T>(op: () => Promise<T>) => circuitCall(op, api, job, token);

    let vaultId = investor.custody_vault_id;
    let existing = true;
    if (!vaultId) {
      const found = (await call(() => api.vaultAccountsByName(vaultName(investorId)))).find((v) => v.customerRefId === investorId);
      existing = found !== undefined;
      const vault =
        found ??
        (await call(() =>
          api.createVaultAccount({ name: vaultName(investorId), customerRefId: investorId, autoFuel: true }, idempotencyKey("vault", investorId)),
        ));
      await deps.db
        .updateTable("investors")
        .set({ custody_vault_id: vault.id, custody_vault_created_at: new Date() })
        .where("id", "=", investorId)
        .where("custody_vault_id", "is", null)
        .execute();
      const stored = await deps.db.selectFrom("investors").select("custody_vault_id").where("id", "=", investorId).executeTakeFirstOrThrow();
      vaultId = stored.custody_vault_id!;
    }
    const vault = vaultId;

    const address = await call(async () => {
      try {
        return (await api.createVaultAsset(vault, deps.assetId, idempotencyKey("wallet", vault, deps.assetId))).address;
      } catch (err) {
        // The wallet exists (created by an attempt whose answer we lost, beyond the key's 24 h).
        if (!(err instanceof ProviderError) || err.status !== 400) throw err;
        const [first] = await api.vaultAssetAddresses(vault, deps.assetId);
        if (!first) throw err;
        return first;
      }
    });
    await deps.db
      .updateTable("investors")
      .set({ custody_asset_id: deps.assetId, custody_deposit_address: address, updated_at: new Date() })
      .where("id", "=", investorId)
      .where("custody_deposit_address", "is", null)
      .execute();
    log.info({ investorId, vaultId: vault, assetId: deps.assetId, existing }, "custody vault ready");
    return { outcome: existing ? "found" : "created", investorId, vaultId: vault };
  };

/** `custody-vaults`: one Fireblocks vault per KYC-approved investor. */
export const custodyVaultsQueue = defineQueue({
  name: "custody-vaults",
  schema: custodyVaultJobSchema,
  attempts: 8,
  backoffMs: 2_000,
  keepCompletedSeconds: 30 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  processor: (deps: WorkerDeps) =>
    custodyVaultProcessor({ db: deps.db, ...(deps.fireblocks ? { fireblocks: deps.fireblocks } : {}), assetId: deps.config.FIREBLOCKS_VAULT_ASSET_ID }),
});

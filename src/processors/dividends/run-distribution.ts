import { UnrecoverableError } from "bullmq";
import { sql, type Kysely, type Selectable } from "kysely";
import { encodeFunctionData, erc20Abi, maxUint256, type Address, type Hex, type PublicClient } from "viem";
import { batchTransferAbi } from "../../chain/artifacts/BatchTransfer.js";
import type { TxSender } from "../../chain/tx-sender.js";
import type { Database, DistributionsTable } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import { PER_TOKEN, planDistribution, type PaymentLine } from "./amounts.js";
import { snapshotHolders } from "./snapshot.js";

export interface DistributionRunDeps {
  db: Kysely<Database>;
  sender: TxSender;
  publicClient: PublicClient;
  /** Our BatchTransfer contract; unset = one ERC-20 transfer per line. */
  batchContract?: Address;
  batchSize: number;
  payoutConcurrency: number;
  logChunkBlocks: number;
  log: Logger;
  now?: () => number;
}

/** The run cannot start yet (payment date ahead, record block not mined): try again at `retryAt`. */
export class NotYetError extends Error {
  override name = "NotYetError";
  constructor(
    message: string,
    readonly retryAt: number,
  ) {
    super(message);
  }
}

export interface RunResult {
  distributionId: string;
  status: "completed";
  holders: number;
  batchesSent: number;
}

type Distribution = Selectable<DistributionsTable>;

/** Intent key of one payout transaction: per holder when paying directly, per batch through the contract. */
export const lineIntentKey = (distributionId: string, holder: string) => `dividend-${distributionId}-${holder.toLowerCase()}`;
export const batchIntentKey = (distributionId: string, batchNo: number) => `dividend-${distributionId}-batch-${batchNo}`;
/** One standing allowance per payout token and contract: the contract only moves its caller's funds. */
export const approveIntentKey = (payoutToken: string, contract: string) => `dividend-approve-${payoutToken.toLowerCase()}-${contract.toLowerCase()}`;

/** `scaled / 10^18` as an exact decimal string ("12.5", "0.000000000000000001", "0"). */
export function scaledToDecimal(scaled: bigint): string {
  const whole = scaled / PER_TOKEN;
  const frac = (scaled % PER_TOKEN).toString().padStart(18, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole.toString();
}

/**
 * Run one distribution to completion, resuming from whatever is stored:
 *   scheduled/snapshotting → holders at the record block, one line per holder, written with the
 *   totals in one transaction (a crash before it commits just snapshots again: the record
 *   block's state does not change);
 *   paying → each batch of pending lines is one TxSender intent whose transaction is built
 *   only from stored lines, so a retry finds the same intent and rebroadcasts or reads its
 *   receipt; a confirmed batch marks its lines paid in one statement;
 *   completed → nothing to do.
 */
export async function runDistribution(deps: DistributionRunDeps, distributionId: string): Promise<RunResult> {
  const { db, log } = deps;
  const now = deps.now ?? Date.now;
  let dist = await load(db, distributionId);
  if (dist.status === "completed") return { distributionId, status: "completed", holders: dist.holder_count ?? 0, batchesSent: 0 };
  if (dist.payment_date.getTime() > now()) {
    throw new NotYetError(`distribution ${distributionId} is due at ${dist.payment_date.toISOString()}`, dist.payment_date.getTime());
  }
  if (dist.status === "scheduled" || dist.status === "snapshotting") {
    await snapshot(deps, dist);
    dist = await load(db, distributionId);
  }
  const batchesSent = await pay(deps, dist);
  const done = await db
    .updateTable("distributions")
    .set({ status: "completed", completed_at: new Date(), updated_at: new Date() })
    .where("id", "=", distributionId)
    .where("status", "=", "paying")
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom("distribution_lines").select("holder").where("distribution_id", "=", distributionId).where("status", "=", "pending"))),
    )
    .returning(["holder_count", "total_paid"])
    .executeTakeFirst();
  const final = await load(db, distributionId);
  if (final.status !== "completed") throw new Error(`distribution ${distributionId} still has unpaid lines`);
  if (done) log.info({ distributionId, holders: done.holder_count, totalPaid: done.total_paid }, "distribution completed");
  return { distributionId, status: "completed", holders: final.holder_count ?? 0, batchesSent };
}

async function load(db: Kysely<Database>, id: string): Promise<Distribution> {
  const row = await db.selectFrom("distributions").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw new UnrecoverableError(`no distribution ${id}`);
  return row;
}

async function snapshot(deps: DistributionRunDeps, dist: Distribution): Promise<void> {
  const { db, publicClient, log } = deps;
  const recordBlock = BigInt(dist.record_block);
  const head = await publicClient.getBlockNumber();
  if (head < recordBlock) {
    throw new NotYetError(`record block ${recordBlock} of distribution ${dist.id} is not mined yet (head ${head})`, (deps.now ?? Date.now)() + 15_000);
  }
  await db
    .updateTable("distributions")
    .set({ status: "snapshotting", updated_at: new Date() })
    .where("id", "=", dist.id)
    .where("status", "=", "scheduled")
    .execute();
  const started = Date.now();
  const balances = await snapshotHolders({
    publicClient,
    token: dist.token_address as Address,
    recordBlock,
    chunkBlocks: BigInt(deps.logChunkBlocks),
  });
  const plan = planDistribution(balances, BigInt(dist.amount_per_token));
  const contract = deps.batchContract ?? null;
  const keyOf = (line: PaymentLine, index: number) =>
    contract ? batchIntentKey(dist.id, batchOf(index, deps.batchSize)) : lineIntentKey(dist.id, line.holder);
  await db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom("distributions").select("status").where("id", "=", dist.id).forUpdate().executeTakeFirstOrThrow();
    if (current.status !== "snapshotting" && current.status !== "scheduled") return; // another run got here first
    for (let i = 0; i < plan.lines.length; i += 1_000) {
      await trx
        .insertInto("distribution_lines")
        .values(
          plan.lines.slice(i, i + 1_000).map((line, j) => ({
            distribution_id: dist.id,
            holder: line.holder,
            balance: line.balance.toString(),
            amount: line.amount.toString(),
            batch_no: contract ? batchOf(i + j, deps.batchSize) : i + j,
            intent_key: keyOf(line, i + j),
          })),
        )
        .onConflict((oc) => oc.columns(["distribution_id", "holder"]).doNothing())
        .execute();
    }
    await trx
      .updateTable("distributions")
      .set({
        status: "paying",
        payout_contract: contract,
        holder_count: plan.lines.length,
        total_due: plan.totalDue.toString(),
        remainder: scaledToDecimal(plan.remainderScaled),
        snapshot_at: new Date(),
        updated_at: new Date(),
      })
      .where("id", "=", dist.id)
      .execute();
  });
  log.info(
    { distributionId: dist.id, recordBlock: recordBlock.toString(), holders: plan.lines.length, totalDue: plan.totalDue.toString(), ms: Date.now() - started },
    "distribution snapshot stored",
  );
}

const batchOf = (index: number, size: number) => Math.floor(index / size);

interface StoredLine {
  holder: string;
  amount: string;
  intent_key: string;
  status: string;
}

async function pay(deps: DistributionRunDeps, dist: Distribution): Promise<number> {
  const { db, sender, publicClient, log } = deps;
  const payoutToken = dist.payout_token_address as Address;
  const contract = (dist.payout_contract ?? undefined) as Address | undefined;
  const pending = await db
    .selectFrom("distribution_lines")
    .select("batch_no")
    .where("distribution_id", "=", dist.id)
    .where("status", "=", "pending")
    .groupBy("batch_no")
    .orderBy("batch_no")
    .execute();
  if (pending.length === 0) return 0;

  // What still has to leave the treasury: pending lines whose transaction is not signed yet
  // (a signed one may already be mined, its funds gone from the balance read below).
  const { unsigned } = await db
    .selectFrom("distribution_lines as l")
    .select(sql<string>`coalesce(sum(l.amount), 0)`.as("unsigned"))
    .where("l.distribution_id", "=", dist.id)
    .where("l.status", "=", "pending")
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom("chain_transactions as t").select("t.intent_key").whereRef("t.intent_key", "=", "l.intent_key").where("t.status", "<>", "intent"))),
    )
    .executeTakeFirstOrThrow();
  const needed = BigInt(unsigned);
  if (needed > 0n) {
    const balance = await publicClient.readContract({ address: payoutToken, abi: erc20Abi, functionName: "balanceOf", args: [sender.address] });
    // Retryable: the treasury may be funded before the attempts run out.
    if (balance < needed) throw new Error(`treasury ${sender.address} holds ${balance} of ${payoutToken}, distribution ${dist.id} needs ${needed}`);
    if (contract) await ensureAllowance(deps, payoutToken, contract, needed);
  }

  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < pending.length) {
      const { batch_no } = pending[next++]!;
      const lines = (await db
        .selectFrom("distribution_lines")
        .select(["holder", "amount", "intent_key", "status"])
        .where("distribution_id", "=", dist.id)
        .where("batch_no", "=", batch_no)
        .orderBy("holder")
        .execute()) as StoredLine[];
      if (lines.every((l) => l.status === "paid")) continue;
      const intentKey = lines[0]!.intent_key;
      const tx = contract
        ? {
            to: contract,
            data: encodeFunctionData({
              abi: batchTransferAbi,
              functionName: "batchTransferFrom",
              args: [payoutToken, lines.map((l) => l.holder as Address), lines.map((l) => BigInt(l.amount))],
            }),
          }
        : {
            to: payoutToken,
            data: encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [lines[0]!.holder as Address, BigInt(lines[0]!.amount)] }),
          };
      // Payouts leave the treasury (the first signer): its balance and allowance are the ones checked above.
      const result = await sender.send({ intentKey, ...tx, from: sender.address });
      if (result.status === "reverted") {
        throw new UnrecoverableError(`payout transaction ${result.hash} (${intentKey}) of distribution ${dist.id} reverted; its lines stay unpaid`);
      }
      await markBatchPaid(db, dist.id, batch_no, result.hash);
      sent += 1;
      log.debug({ distributionId: dist.id, batch: batch_no, lines: lines.length, txHash: result.hash }, "payout batch confirmed");
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.payoutConcurrency, pending.length) }, worker));
  return sent;
}

/** Mark one confirmed batch's lines paid and bring the distribution's `total_paid` up to date. */
export async function markBatchPaid(db: Kysely<Database>, distributionId: string, batchNo: number, txHash: Hex): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // Batches are paid several at a time, so several of these transactions run at once. The
    // distribution's row lock comes first: the sum below must be read after every other
    // batch's transaction has committed. Taken later (by the update itself), a waiting
    // transaction would write a sum from its statement's older snapshot, without the batch
    // that held the lock: a lost update.
    await trx.selectFrom("distributions").select("id").where("id", "=", distributionId).forUpdate().execute();
    await trx
      .updateTable("distribution_lines")
      .set({ status: "paid", tx_hash: txHash, paid_at: new Date() })
      .where("distribution_id", "=", distributionId)
      .where("batch_no", "=", batchNo)
      .where("status", "=", "pending")
      .execute();
    await sql`
      update distributions d
         set total_paid = (select coalesce(sum(amount), 0) from distribution_lines where distribution_id = d.id and status = 'paid'),
             updated_at = now()
       where d.id = ${distributionId}`.execute(trx);
  });
}

async function ensureAllowance(deps: DistributionRunDeps, payoutToken: Address, contract: Address, needed: bigint): Promise<void> {
  const { publicClient, sender } = deps;
  const allowance = await publicClient.readContract({ address: payoutToken, abi: erc20Abi, functionName: "allowance", args: [sender.address, contract] });
  if (allowance >= needed) return;
  const intentKey = approveIntentKey(payoutToken, contract);
  const existing = await sender.find(intentKey);
  if (existing?.status === "confirmed") {
    throw new UnrecoverableError(`allowance of ${contract} on ${payoutToken} is ${allowance} after the standing approval; needs ${needed}`);
  }
  const result = await sender.send({
    intentKey,
    from: sender.address,
    to: payoutToken,
    data: encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [contract, maxUint256] }),
  });
  if (result.status === "reverted") throw new UnrecoverableError(`approval ${result.hash} of ${contract} on ${payoutToken} reverted`);
}

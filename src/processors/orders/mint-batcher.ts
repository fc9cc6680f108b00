import { randomUUID } from "node:crypto";
import { UnrecoverableError } from "bullmq";
import type { Kysely } from "kysely";
import { encodeFunctionData, type Address, type Hex } from "viem";
import { securityTokenAbi } from "../../chain/artifacts/SecurityToken.js";
import type { SendRequest, TxSender } from "../../chain/tx-sender.js";
import type { Database } from "../../db/schema.js";
import type { Logger } from "../../log.js";

/** One paid order to mint. */
export interface MintItem {
  referenceId: string;
  token: Address;
  wallet: Address;
  amount: bigint;
}

/** Test hooks at the points a crash must be survivable. */
export interface MintBatcherHooks {
  /** A batch's intent and membership are committed; nothing is signed yet. */
  afterBatchStored?(intentKey: string, referenceIds: string[]): void | Promise<void>;
}

export interface MintBatcherOptions {
  db: Kysely<Database>;
  sender: TxSender;
  log: Logger;
  /** Orders of one token arriving within this window share a transaction. */
  windowMs: number;
  maxSize: number;
  hooks?: MintBatcherHooks;
}

/**
 * An order's own mint intent: `mint:<reference>`, and `mint:<reference>:<n>` for its n-th retry
 * (an operator's retry of a `mint_failed` order: the earlier intents stay as they ended).
 */
export const mintIntentKey = (referenceId: string, retry = 0) => (retry > 0 ? `mint:${referenceId}:${retry}` : `mint:${referenceId}`);
/** Batch intents are named by a fresh id; their membership (mint_intent_orders) is what ties orders to them. */
const batchIntentKey = () => `mint-batch:${randomUUID()}`;

interface Waiting {
  item: MintItem;
  resolve: (intentKey: string) => void;
  reject: (err: unknown) => void;
}

const mintCall = (item: MintItem): Hex => encodeFunctionData({ abi: securityTokenAbi, functionName: "mint", args: [item.wallet, item.amount] });
const batchMintCall = (items: MintItem[]): Hex =>
  encodeFunctionData({ abi: securityTokenAbi, functionName: "batchMint", args: [items.map((i) => i.wallet), items.map((i) => i.amount)] });

/**
 * Gathers the orders of each token that become due within `windowMs` (at most `maxSize`)
 * into one `batchMint` transaction, for tokens that have it (detected once per token by
 * simulating an empty batch); other tokens get one `mint` per order. Before anything is
 * signed, a batch whose simulation reverts is bisected until the orders that revert are
 * isolated: those are refused (their jobs dead-letter with the reason), the others mint.
 * Membership is committed with the intent, before signing: a crash after it resumes the same
 * batch (the order's next job attempt finds its live intent), and an order is never in two.
 */
export class MintBatcher {
  private readonly open = new Map<string, { waiting: Waiting[]; timer: NodeJS.Timeout }>();
  private readonly support = new Map<string, Promise<boolean>>();
  /** Orders waiting in a batch or being minted, by reference. */
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly opts: MintBatcherOptions) {}

  /** Resolves with the intent key that carries the order once its transaction is signed and broadcast. */
  mint(item: MintItem): Promise<string> {
    // Two jobs of one order (its first mint job and an operator's retry job, say) share one
    // place in the batch: the order is minted once and both get its intent key.
    const same = this.inFlight.get(item.referenceId);
    if (same) return same;
    const minted = this.enter(item);
    this.inFlight.set(item.referenceId, minted);
    const forget = () => {
      if (this.inFlight.get(item.referenceId) === minted) this.inFlight.delete(item.referenceId);
    };
    minted.then(forget, forget);
    return minted;
  }

  private enter(item: MintItem): Promise<string> {
    return new Promise((resolve, reject) => {
      const key = item.token.toLowerCase();
      let batch = this.open.get(key);
      if (!batch) {
        batch = { waiting: [], timer: setTimeout(() => this.flush(key), this.opts.windowMs) };
        this.open.set(key, batch);
      }
      batch.waiting.push({ item, resolve, reject });
      if (batch.waiting.length >= this.opts.maxSize) this.flush(key);
    });
  }

  private flush(key: string): void {
    const batch = this.open.get(key);
    if (!batch) return;
    this.open.delete(key);
    clearTimeout(batch.timer);
    void this.mintAll(batch.waiting).catch((err: unknown) => {
      for (const w of batch.waiting) w.reject(err);
    });
  }

  /** Does this token have `batchMint` (and may our treasury signer call it)? Asked once per token. */
  supportsBatchMint(token: Address): Promise<boolean> {
    const key = token.toLowerCase();
    let known = this.support.get(key);
    if (!known) {
      known = this.opts.sender
        .simulate({ to: token, data: batchMintCall([]) }, this.opts.sender.address)
        .then(() => true)
        .catch((err: unknown) => {
          if (err instanceof UnrecoverableError) return false;
          this.support.delete(key); // a node error says nothing about the token: ask again next time
          throw err;
        });
      this.support.set(key, known);
    }
    return known;
  }

  private async mintAll(waiting: Waiting[]): Promise<void> {
    const token = waiting[0]!.item.token;
    if (waiting.length === 1 || !(await this.supportsBatchMint(token))) {
      await Promise.all(waiting.map((w) => this.mintOne(w.item).then(w.resolve, w.reject)));
      return;
    }
    const from = await this.opts.sender.pickSigner();
    const { ok, refused, gas } = await this.isolate(
      waiting.map((w) => w.item),
      from,
    );
    for (const [item, reason] of refused) {
      waiting.find((w) => w.item === item)!.reject(new UnrecoverableError(`mint of order ${item.referenceId} ${reason}`));
    }
    const resolved = new Map(waiting.map((w) => [w.item.referenceId, w]));
    if (ok.length === 1) {
      const w = resolved.get(ok[0]!.referenceId)!;
      await this.mintOne(w.item).then(w.resolve, w.reject);
      return;
    }
    if (ok.length === 0) return;
    try {
      const { req, members, existing } = await this.storeBatch(ok, from, gas);
      for (const [ref, intentKey] of existing) resolved.get(ref)!.resolve(intentKey);
      if (req) {
        await this.opts.hooks?.afterBatchStored?.(req.intentKey, members);
        await this.opts.sender.submit(req);
        this.opts.log.info({ intentKey: req.intentKey, token, orders: members.length, from }, "batch mint broadcast");
        for (const ref of members) resolved.get(ref)!.resolve(req.intentKey);
      }
    } catch (err) {
      for (const item of ok) resolved.get(item.referenceId)!.reject(err);
    }
  }

  /** Split a reverting batch until every order that reverts on its own is found (a bisection: about 2·log2(n) simulations per bad order). */
  private async isolate(items: MintItem[], from: Address): Promise<{ ok: MintItem[]; refused: [MintItem, string][]; gas?: bigint }> {
    try {
      const gas = await this.opts.sender.simulate({ to: items[0]!.token, data: items.length === 1 ? mintCall(items[0]!) : batchMintCall(items) }, from);
      return { ok: items, refused: [], gas };
    } catch (err) {
      if (!(err instanceof UnrecoverableError)) throw err;
      if (items.length === 1) return { ok: [], refused: [[items[0]!, err.message]] };
      const half = Math.ceil(items.length / 2);
      const [a, b] = await Promise.all([this.isolate(items.slice(0, half), from), this.isolate(items.slice(half), from)]);
      return { ok: [...a.ok, ...b.ok], refused: [...a.refused, ...b.refused] };
    }
  }

  /**
   * One database transaction: the orders still minting and in no live intent become the
   * batch's members, and the batch's intent is recorded with exactly their call.
   */
  private async storeBatch(
    items: MintItem[],
    from: Address,
    /** The estimate of exactly `items`' batch; used only if all of them become members. */
    gas: bigint | undefined,
  ): Promise<{ req?: SendRequest; members: string[]; existing: Map<string, string> }> {
    const refs = items.map((i) => i.referenceId).sort();
    return this.opts.db.transaction().execute(async (trx) => {
      const orders = await trx
        .selectFrom("orders")
        .select(["reference_id", "status"])
        .where("reference_id", "in", refs)
        .orderBy("reference_id")
        .forUpdate()
        .execute();
      const live = await trx
        .selectFrom("mint_intent_orders")
        .select(["reference_id", "intent_key"])
        .where("reference_id", "in", refs)
        .where("live", "=", true)
        .execute();
      const existing = new Map(live.map((l) => [l.reference_id, l.intent_key]));
      const minting = new Set(orders.filter((o) => o.status === "minting").map((o) => o.reference_id));
      const members = items.filter((i) => minting.has(i.referenceId) && !existing.has(i.referenceId));
      if (members.length === 0) return { members: [], existing };
      const sameCall = gas !== undefined && members.length === items.length;
      const req: SendRequest = { intentKey: batchIntentKey(), to: members[0]!.token, data: batchMintCall(members), from, ...(sameCall ? { gas } : {}) };
      await this.opts.sender.recordIntent(trx, req, from);
      await trx
        .insertInto("mint_intent_orders")
        .values(members.map((m) => ({ reference_id: m.referenceId, intent_key: req.intentKey })))
        .execute();
      return { req, members: members.map((m) => m.referenceId), existing };
    });
  }

  /** An order on its own: `mint:<reference>` (`:<n>` after n retries), its membership recorded with the intent. */
  private async mintOne(item: MintItem): Promise<string> {
    const before = await mintCarriers(this.opts.db, item.referenceId);
    const intentKey = mintIntentKey(item.referenceId, before.retired);
    const from = await this.opts.sender.pickSigner();
    const req: SendRequest = { intentKey, to: item.token, data: mintCall(item), from };
    // Refused before anything is stored, like a batch's reverting members: the order keeps no intent.
    const gas = before.live
      ? undefined
      : await this.opts.sender.simulate(req, from).catch((err: unknown) => {
          throw err instanceof UnrecoverableError ? new UnrecoverableError(`mint of order ${item.referenceId} ${err.message}`) : err;
        });
    const carrier = await this.opts.db.transaction().execute(async (trx) => {
      const { live } = await mintCarriers(trx, item.referenceId);
      if (live) return live;
      await this.opts.sender.recordIntent(trx, req, from);
      await trx.insertInto("mint_intent_orders").values({ reference_id: item.referenceId, intent_key: intentKey }).execute();
      return intentKey;
    });
    // The intent just recorded is exactly the call simulated above: sign it without a second estimate.
    if (carrier === intentKey && gas !== undefined) await this.opts.sender.submit({ ...req, gas });
    else await resumeIntent(this.opts.sender, carrier);
    return carrier;
  }
}

/**
 * An order's mint intents in one read: the live one that carries it (at most one, by the
 * partial unique index), and how many an operator's retries let go (they ended reverted or
 * failed, minting nothing): the next own intent of the order is `mint:<reference>:<retired>`.
 */
export async function mintCarriers(db: Kysely<Database>, referenceId: string): Promise<{ live: string | undefined; retired: number }> {
  const row = await db
    .selectFrom("mint_intent_orders")
    .select((eb) => [eb.fn.max("intent_key").filterWhere("live", "=", true).as("live"), eb.fn.countAll<string>().filterWhere("live", "=", false).as("retired")])
    .where("reference_id", "=", referenceId)
    .executeTakeFirstOrThrow();
  return { live: row.live ?? undefined, retired: Number(row.retired) };
}

/** Sign (if a crash left it unsigned) and broadcast a stored intent, from exactly what is stored. */
export async function resumeIntent(sender: TxSender, intentKey: string): Promise<void> {
  const row = await sender.find(intentKey);
  if (!row) throw new Error(`no intent ${intentKey}`);
  if (row.status === "mined" || row.status === "confirmed" || row.status === "reverted" || row.status === "failed") return;
  await sender.submit({ intentKey, to: row.to_address as Address, data: row.data as Hex, value: BigInt(row.value), from: row.from_address as Address });
}

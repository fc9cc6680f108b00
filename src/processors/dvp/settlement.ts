import { UnrecoverableError } from "bullmq";
import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from "kysely";
import { erc20Abi, getAddress, parseEventLogs, type Address, type Hex, type PublicClient } from "viem";
import { dvpAbi, settleCalldata, settlementIdOf, type Settlement } from "../../chain/dvp.js";
import { custodyFailure, type FinalityHandler } from "../../chain/finality.js";
import { handedOff, type IntentRow, type TxSender } from "../../chain/tx-sender.js";
import type { Database, DvpLegsTable, OrdersTable } from "../../db/schema.js";

/** Intent keys of settlements: `dvp:<reference>` first, `dvp:<reference>:<attempt>` after one reverted on chain. */
export const DVP_INTENT_PREFIX = "dvp:";

export const dvpIntentKey = (referenceId: string, attempt: number) =>
  attempt === 0 ? `${DVP_INTENT_PREFIX}${referenceId}` : `${DVP_INTENT_PREFIX}${referenceId}:${attempt}`;

export type DvpOrder = Selectable<OrdersTable> & { wallet: string; kyc_status: string };

/** Who gets the cash: the seller of a secondary trade, else the issuer's receiver. */
export const cashReceiverOf = (order: { seller: string | null }, issuerReceiver: Address): Address =>
  order.seller ? getAddress(order.seller) : issuerReceiver;

/** The settlement the contract is asked for; the same bytes for every attempt of one order. */
export function settlementOf(order: DvpOrder, issuerReceiver: Address): Settlement {
  return {
    settlementId: settlementIdOf(order.reference_id),
    buyer: getAddress(order.wallet),
    cashToken: getAddress(order.cash_token!),
    cashAmount: BigInt(order.cash_amount!),
    cashReceiver: cashReceiverOf(order, issuerReceiver),
    securityToken: getAddress(order.token_address),
    tokenAmount: BigInt(order.token_amount),
    ...(order.seller ? { seller: getAddress(order.seller) } : {}),
  };
}

/** A stablecoin order with its buyer's wallet and KYC status. */
export function loadDvpOrders(db: Kysely<Database> | Transaction<Database>) {
  return db
    .selectFrom("orders")
    .innerJoin("investors", "investors.id", "orders.investor_id")
    .selectAll("orders")
    .select(["investors.wallet", "investors.kyc_status"])
    .where("orders.rail", "=", "stablecoin");
}

/** What stops a settlement from going through right now at `blockNumber` (undefined: nothing). */
export async function shortfall(
  publicClient: PublicClient,
  dvp: Address,
  order: DvpOrder,
  blockNumber?: bigint,
): Promise<{ reason: string; kind: "allowance" | "balance" | "seller" } | undefined> {
  const at = blockNumber === undefined ? {} : { blockNumber };
  const buyer = getAddress(order.wallet);
  const token = getAddress(order.cash_token!);
  const cash = BigInt(order.cash_amount!);
  const [allowance, balance] = await Promise.all([
    publicClient.readContract({ address: token, abi: erc20Abi, functionName: "allowance", args: [buyer, dvp], ...at }),
    publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [buyer], ...at }),
  ]);
  if (allowance < cash) return { kind: "allowance", reason: `buyer's allowance to the DvP contract is ${allowance}, below the cash amount ${cash}` };
  if (balance < cash) return { kind: "balance", reason: `buyer's balance is ${balance}, below the cash amount ${cash}` };
  if (order.seller) {
    const seller = getAddress(order.seller);
    const security = getAddress(order.token_address);
    const tokens = BigInt(order.token_amount);
    const [sellerAllowance, sellerBalance] = await Promise.all([
      publicClient.readContract({ address: security, abi: erc20Abi, functionName: "allowance", args: [seller, dvp], ...at }),
      publicClient.readContract({ address: security, abi: erc20Abi, functionName: "balanceOf", args: [seller], ...at }),
    ]);
    if (sellerAllowance < tokens || sellerBalance < tokens) {
      return {
        kind: "seller",
        reason: `seller's token allowance ${sellerAllowance} or balance ${sellerBalance} to the DvP contract is below the token amount ${tokens}`,
      };
    }
  }
  return undefined;
}

const expired = (order: { expires_at: Date | null }, now = new Date()) => order.expires_at !== null && order.expires_at.getTime() <= now.getTime();

export interface SettleDeps {
  db: Kysely<Database>;
  sender: TxSender;
  publicClient: PublicClient;
  dvp: Address;
  cashReceiver: Address;
}

export type SettleOutcome =
  | { outcome: "not_settling"; status: string }
  | { outcome: "submitted"; intentKey: string; resumed: boolean }
  | { outcome: "waiting"; reason: string }
  | { outcome: "expired" };

/**
 * One attempt to settle a `settling` order: resume its intent if one is already signed, else
 * check allowance and balance at the head and submit `settle` through the exactly-once
 * sender (which simulates first). Anything short, or a simulation that reverts (the buyer
 * withdrew the allowance since the watcher saw it), returns the order to `awaiting_allowance`
 * with the reason; an order past `expiresAt` ends `expired` instead.
 */
export async function settleOrder(deps: SettleDeps, referenceId: string): Promise<SettleOutcome> {
  const { db, sender, publicClient, dvp } = deps;
  const order = await loadDvpOrders(db).where("orders.reference_id", "=", referenceId).executeTakeFirst();
  if (!order) throw new UnrecoverableError(`no stablecoin order ${referenceId}`);
  if (order.status !== "settling" || !order.dvp_intent_key) return { outcome: "not_settling", status: order.status };
  const intentKey = order.dvp_intent_key;
  const request = { intentKey, to: dvp, data: settleCalldata(settlementOf(order, deps.cashReceiver)) };
  const existing = await sender.resolve(intentKey);
  if (existing && handedOff(existing)) {
    // Signed by an earlier attempt (maybe in a process that died): only ever that transaction.
    await sender.submit({ ...request, from: existing.from_address as Address });
    return { outcome: "submitted", intentKey, resumed: true };
  }
  const giveBack = async (reason: string, recheckEveryPass: boolean): Promise<SettleOutcome> => {
    const end = expired(order);
    const head = await publicClient.getBlockNumber();
    await db
      .updateTable("orders")
      .set({
        status: end ? "expired" : "awaiting_allowance",
        waiting_reason: reason,
        // Short of allowance: the buyer's next Approval brings it back; short of balance: every pass looks again.
        dvp_checked_block: recheckEveryPass ? null : head.toString(),
        dvp_intent_key: null,
        updated_at: new Date(),
      })
      .where("reference_id", "=", referenceId)
      .where("status", "=", "settling")
      .execute();
    return end ? { outcome: "expired" } : { outcome: "waiting", reason };
  };
  const short = await shortfall(publicClient, dvp, order);
  if (short) return giveBack(short.reason, short.kind !== "allowance");
  try {
    await sender.submit(request);
  } catch (err) {
    if (err instanceof UnrecoverableError && /would revert/.test(err.message)) {
      const signed = await sender.find(intentKey);
      if (!signed || !handedOff(signed)) return giveBack(`settlement would revert: ${err.message}`, true);
    }
    throw err;
  }
  return { outcome: "submitted", intentKey, resumed: false };
}

/**
 * The chain monitor's handler for `dvp:` intents, in the transaction that records the intent
 * final. Confirmed: the order is `completed` with the hash that mined, and both legs are
 * recorded from the contract's CashLeg / DeliveryLeg events. Reverted (the allowance went
 * between signing and mining; no leg moved): the order waits again for the buyer with the
 * reason and its next attempt gets a new intent key, or fails when it has expired.
 */
export const dvpFinality =
  (publicClient: PublicClient, dvp: Address): FinalityHandler =>
  async (trx: Transaction<Database>, intent: IntentRow) => {
    const order = await trx
      .selectFrom("orders")
      .selectAll()
      .where("dvp_intent_key", "=", intent.intent_key)
      .where("status", "=", "settling")
      .forUpdate()
      .executeTakeFirst();
    if (!order) return;
    const hash = (intent.mined_hash ?? intent.tx_hash) as Hex;
    if (intent.status === "confirmed") {
      const receipt = await publicClient.getTransactionReceipt({ hash });
      const id = settlementIdOf(order.reference_id);
      const at = { tx_hash: hash, block_number: receipt.blockNumber.toString(), reference_id: order.reference_id };
      const legs = parseEventLogs({ abi: dvpAbi, logs: receipt.logs }).flatMap((l): Insertable<DvpLegsTable>[] => {
        if (getAddress(l.address) !== getAddress(dvp)) return [];
        if (l.eventName === "CashLeg" && l.args.settlementId === id) {
          const { token, buyer, receiver, amount } = l.args;
          return [{ ...at, leg: "cash" as const, token, from_address: buyer, to_address: receiver, amount: amount.toString(), log_index: l.logIndex }];
        }
        if (l.eventName === "DeliveryLeg" && l.args.settlementId === id) {
          const { token, buyer, seller, amount } = l.args;
          return [{ ...at, leg: "delivery" as const, token, from_address: seller, to_address: buyer, amount: amount.toString(), log_index: l.logIndex }];
        }
        return [];
      });
      if (legs.length > 0) {
        await trx
          .insertInto("dvp_legs")
          .values(legs)
          .onConflict((oc) => oc.columns(["reference_id", "leg"]).doNothing())
          .execute();
      }
      await trx
        .updateTable("orders")
        .set({
          status: "completed",
          settlement_tx_hash: hash,
          waiting_reason: null,
          failure_reason: null,
          paid_at: sql<Date>`now()`,
          completed_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
        })
        .where("reference_id", "=", order.reference_id)
        .execute();
      return;
    }
    const reason = intent.status === "failed" ? `${custodyFailure(intent)} (no leg moved)` : `settlement transaction ${hash} reverted on chain (no leg moved)`;
    await trx
      .updateTable("orders")
      .set(
        expired(order)
          ? { status: "failed", failure_reason: `${reason}; the order expired`, dvp_intent_key: null, updated_at: sql<Date>`now()` }
          : {
              status: "awaiting_allowance",
              waiting_reason: reason,
              // Kept after the watcher rewrites the waiting reason: the last failed settlement.
              failure_reason: reason,
              dvp_intent_key: null,
              dvp_attempt: order.dvp_attempt + 1,
              dvp_checked_block: null,
              updated_at: sql<Date>`now()`,
            },
      )
      .where("reference_id", "=", order.reference_id)
      .execute();
  };

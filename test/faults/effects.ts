import type { Kysely } from "kysely";
import type { Database } from "../../src/db/schema.js";
import type { Address } from "viem";
import type { TestChain } from "../helpers/chain.js";
import type { Harness } from "./harness.js";
import type { Delivery, DeliveryKind, Fixture } from "./deliveries.js";

/** Per kind of delivery: unique deliveries answered 2xx, effects found, effects missing, effects doubled. */
export interface EffectCount {
  accepted: number;
  effects: number;
  lost: number;
  duplicates: number;
}

export interface EffectReport {
  byKind: Partial<Record<DeliveryKind, EffectCount>>;
  /** Orders paid in this fixture: completed with one confirmed mint and exactly their tokens on chain. */
  mints: EffectCount & { wrongBalance: string[] };
  total: EffectCount;
  problems: string[];
}

const countBy = (rows: { key: string | null }[]) => {
  const m = new Map<string, number>();
  for (const r of rows) if (r.key) m.set(r.key, (m.get(r.key) ?? 0) + 1);
  return m;
};

/**
 * Count, for every delivery answered 2xx, the effect it must have had — exactly once:
 * a `kyc_events` row under its job id (Sumsub, broker PARTY_EVENT), a `custody_transactions`
 * row in its final status (Fireblocks), a completed order paid with its proof (payments), and
 * for every paid order one confirmed mint transaction and exactly its tokens in the wallet.
 */
export async function countEffects(h: Harness, fixture: Fixture): Promise<EffectReport> {
  const db = h.dbh.db;
  const problems: string[] = [];
  const byKind: Partial<Record<DeliveryKind, EffectCount>> = {};
  const group = new Map<DeliveryKind, Delivery[]>();
  for (const d of fixture.deliveries) {
    if (!d.jobId) problems.push(`${d.kind} ${d.subject} was never answered 2xx`);
    else group.set(d.kind, [...(group.get(d.kind) ?? []), d]);
  }

  for (const kind of ["sumsub", "bakkt-party"] as const) {
    const ds = group.get(kind) ?? [];
    if (!ds.length) continue;
    const rows = await db
      .selectFrom("kyc_events")
      .select(["job_id as key"])
      .where(
        "job_id",
        "in",
        ds.map((d) => d.jobId!),
      )
      .execute();
    const n = countBy(rows);
    byKind[kind] = tally(ds, (d) => n.get(d.jobId!) ?? 0);
  }

  const custody = group.get("fireblocks") ?? [];
  if (custody.length) {
    const rows = await db
      .selectFrom("custody_transactions")
      .select(["id as key", "status"])
      .where(
        "id",
        "in",
        custody.map((d) => d.subject),
      )
      .execute();
    const done = countBy(rows.filter((r) => r.status === "COMPLETED"));
    byKind.fireblocks = tally(custody, (d) => done.get(d.subject) ?? 0);
  }

  const orders = new Map(fixture.orders.map((o) => [o.referenceId, o]));
  const paid = [...(group.get("bank-payment") ?? []), ...(group.get("bakkt-deposit") ?? [])];
  const orderRows = paid.length
    ? await db
        .selectFrom("orders")
        .select(["reference_id", "status", "payment_proof", "mint_tx_hash"])
        .where(
          "reference_id",
          "in",
          paid.map((d) => d.subject),
        )
        .execute()
    : [];
  const orderByRef = new Map(orderRows.map((o) => [o.reference_id, o]));
  for (const kind of ["bank-payment", "bakkt-deposit"] as const) {
    const ds = group.get(kind) ?? [];
    if (!ds.length) continue;
    byKind[kind] = tally(ds, (d) => {
      const o = orderByRef.get(d.subject);
      const proof = JSON.parse(d.body) as { bankTransactionId?: string; fiatEvent?: { transactionId: string } };
      const expectedProof = proof.bankTransactionId ?? proof.fiatEvent!.transactionId;
      return o && o.status === "completed" && o.payment_proof === expectedProof ? 1 : 0;
    });
  }

  const refs = paid.map((d) => d.subject);
  const txRows = await mintCarriers(db, refs);
  const txCount = countBy(txRows.filter((t) => t.status === "confirmed").map((t) => ({ key: t.ref })));
  const wrongBalance: string[] = [];
  const balances = await balancesOf(
    h.chain,
    h.chain.deployment.securityToken,
    refs.map((r) => orders.get(r)!.wallet),
  );
  const mintTally = tally(paid, (d) => txCount.get(d.subject) ?? 0);
  refs.forEach((r, i) => {
    const o = orders.get(r)!;
    if (balances[i] !== o.tokenAmount) wrongBalance.push(`${r}: ${balances[i]} != ${o.tokenAmount}`);
    else if (orderByRef.get(r)?.mint_tx_hash !== txRows.find((t) => t.ref === r)?.mined_hash)
      wrongBalance.push(`${r}: order's mint hash is not the one its transaction mined with`);
  });

  const kinds = Object.values(byKind);
  const total: EffectCount = {
    accepted: kinds.reduce((a, k) => a + k.accepted, 0),
    effects: kinds.reduce((a, k) => a + k.effects, 0),
    lost: kinds.reduce((a, k) => a + k.lost, 0),
    duplicates: kinds.reduce((a, k) => a + k.duplicates, 0),
  };
  return { byKind, mints: { ...mintTally, wrongBalance }, total, problems };
}

function tally(ds: Delivery[], effectsOf: (d: Delivery) => number): EffectCount {
  let effects = 0;
  let lost = 0;
  let duplicates = 0;
  for (const d of ds) {
    const n = effectsOf(d);
    if (n === 0) lost++;
    else effects++;
    if (n > 1) duplicates += n - 1;
  }
  return { accepted: ds.length, effects, lost, duplicates };
}

async function balancesOf(chain: TestChain, token: Address, holders: Address[]): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let i = 0; i < holders.length; i += 25) {
    out.push(...(await Promise.all(holders.slice(i, i + 25).map((a) => chain.balanceOf(token, a)))));
  }
  return out;
}

/** The live mint intent (a single mint or a batch) carrying each of these orders. */
export async function mintCarriers(db: Kysely<Database>, refs: string[]) {
  if (refs.length === 0) return [];
  return db
    .selectFrom("mint_intent_orders as m")
    .innerJoin("chain_transactions as t", "t.intent_key", "m.intent_key")
    .select(["m.reference_id as ref", "t.intent_key", "t.status", "t.mined_hash"])
    .where("m.reference_id", "in", refs)
    .where("m.live", "=", true)
    .execute();
}

/** How many mint transactions carry these orders (batches carry several). */
export async function mintTransactionsFor(db: Kysely<Database>, refs: string[]): Promise<number> {
  return new Set((await mintCarriers(db, refs)).map((c) => c.intent_key)).size;
}

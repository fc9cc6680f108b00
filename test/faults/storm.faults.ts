import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/env.js";
import { buildFixture, twiceShuffled, type Fixture, type Mix } from "./deliveries.js";
import { countEffects, mintCarriers, mintTransactionsFor, type EffectReport } from "./effects.js";
import { alive, backlog, startHarness, STORM_QUEUES, type Harness } from "./harness.js";
import { emptyStats, seedFixture, sendAll, type SendStats } from "./provider.js";

// The fault suite: real web and worker processes (dist/src/bin/*.js) started and killed by the
// test, against a redis-server of its own (AOF, appendfsync always) and anvil, with TCP proxies
// of its own in front of Postgres and the chain RPC. Run with `npm run test:faults`.

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The lines the suite prints: what was sent, what was answered, what was found. */
function report(phase: string, stats: SendStats, fixture: Fixture, effects: EffectReport, extra: Record<string, unknown> = {}): void {
  const line = {
    phase,
    deliveries: fixture.deliveries.length,
    sent: stats.requests,
    answered2xx: stats.answered2xx,
    "202": stats.answered202,
    "200 (duplicate)": stats.answered200,
    "503": stats.answered503,
    effects: effects.total.effects,
    mints: effects.mints.effects,
    duplicates: effects.total.duplicates + effects.mints.duplicates,
    lost: effects.total.lost + effects.mints.lost,
    ...extra,
  };
  console.log(`[faults] ${JSON.stringify(line)}`);
  console.log(`[faults] ${phase} by kind: ${JSON.stringify(effects.byKind)}`);
}

/** Every effect exactly once: the assertions shared by the phases. */
function expectExactlyOnce(stats: SendStats, fixture: Fixture, effects: EffectReport): void {
  expect(stats.unexpected).toEqual([]);
  expect(effects.problems).toEqual([]);
  // Each delivery was sent twice and each send ended in a 2xx.
  expect(stats.answered2xx).toBe(2 * fixture.deliveries.length);
  expect(effects.total.accepted).toBe(fixture.deliveries.length);
  expect(effects.total.effects).toBe(fixture.deliveries.length);
  expect(effects.total.lost).toBe(0);
  expect(effects.total.duplicates).toBe(0);
  expect(effects.mints.accepted).toBe(fixture.orders.length);
  expect(effects.mints.effects).toBe(fixture.orders.length);
  expect(effects.mints.lost).toBe(0);
  expect(effects.mints.duplicates).toBe(0);
  expect(effects.mints.wrongBalance).toEqual([]);
}

describe("fault suite", () => {
  let h: Harness;
  const totals = { sent: 0, answered2xx: 0, effects: 0, duplicates: 0, lost: 0 };
  const signerNonce = () => h.chain.signerNonce();
  const retriesLogged = () => h.workers.reduce((n, w) => n + (w.stdout().match(/job failed; will retry/g)?.length ?? 0), 0);
  /** The chain monitor watches what the mint jobs sent; an RPC outage shows in its passes. */
  const monitorFailuresLogged = () => h.workers.reduce((n, w) => n + (w.stdout().match(/chain monitor pass failed/g)?.length ?? 0), 0);

  /** Wait until the storm queues hold no unfinished job and every effect is in place. */
  const drain = async (fixture: Fixture, timeoutMs: number) => {
    const started = Date.now();
    let last: EffectReport | undefined;
    await waitFor(
      async () => {
        const b = await backlog(h.queues);
        if (Object.keys(b.open).length) return false;
        last = await countEffects(h, fixture);
        return last.total.lost === 0 && last.mints.lost === 0 && last.mints.wrongBalance.length === 0;
      },
      timeoutMs,
      "queues drained and every effect in place",
    ).catch(async (err: Error) => {
      const b = await backlog(h.queues).catch(() => undefined);
      throw new Error(`${err.message}: backlog ${JSON.stringify(b)}, effects ${JSON.stringify(last?.byKind)} mints ${JSON.stringify(last?.mints)}`);
    });
    // Settle: a late stalled job or retry would show up as open again.
    await sleep(1_000);
    const b = await backlog(h.queues);
    expect(b.open).toEqual({});
    expect(b.failed).toBe(0);
    expect(b.deadLetters).toEqual({});
    return { effects: await countEffects(h, fixture), tookMs: Date.now() - started };
  };

  const prepare = async (mix: Mix) => {
    const fixture = buildFixture(h.secrets, h.chain.deployment.securityToken, mix);
    await seedFixture(h.dbh, fixture, h.chain.deployment.securityToken, { approved: Boolean(mix.preApproved) });
    return fixture;
  };

  const addTotals = (stats: SendStats, effects: EffectReport) => {
    totals.sent += stats.requests;
    totals.answered2xx += stats.answered2xx;
    totals.effects += effects.total.effects;
    totals.duplicates += effects.total.duplicates + effects.mints.duplicates;
    totals.lost += effects.total.lost + effects.mints.lost;
  };

  beforeAll(async () => {
    h = await startHarness("faults");
    await h.startWeb();
    await Promise.all([h.startWorker(), h.startWorker()]);
  }, 90_000);

  afterAll(async () => {
    console.log(`[faults] totals ${JSON.stringify(totals)}`);
    await h?.stop();
  }, 60_000);

  it("webhook storm: 5,000 signed deliveries, each sent twice, while workers are SIGKILLed twice and Redis crashes and restarts; every 2xx has exactly one effect", async () => {
    const mix: Mix = { sumsubInvestors: 1_000, bakktPartyInvestors: 700, custodyTransactions: 2_000, bankPayments: 250, bakktDeposits: 50 };
    const fixture = await prepare(mix);
    expect(fixture.deliveries.length).toBe(5_000);
    const sends = twiceShuffled(fixture.deliveries);
    const nonceBefore = await signerNonce();
    const stats = emptyStats();
    const answered2xxAt: number[] = [];
    let done = 0;
    const started = Date.now();
    const events: string[] = [];
    const note = (what: string) => events.push(`${sec(Date.now() - started)} ${what}`);

    // The faults, each when the storm has got that far.
    let redisDown: { from: number; to: number } | undefined;
    let openAtRedisCrash = 0;
    const activeAtKills: number[] = [];
    const activeJobs = async () => {
      let n = 0;
      for (const q of STORM_QUEUES) n += (await h.queues.queue(q).getJobCounts("active")).active!;
      return n;
    };
    const chaos = (async () => {
      const at = (fraction: number) => waitFor(async () => done >= sends.length * fraction, 180_000, `${fraction * 100}% sent`);
      await at(0.15);
      const first = h.workers.find(alive)!;
      activeAtKills.push(await activeJobs());
      first.child.kill("SIGKILL");
      expect((await first.exited).signal).toBe("SIGKILL");
      note("worker 1 SIGKILLed");
      await h.startWorker();
      note("worker restarted");

      await at(0.35);
      openAtRedisCrash = Object.values((await backlog(h.queues)).open).reduce((x, y) => x + y, 0);
      await h.redis.kill("SIGKILL");
      const from = Date.now();
      note("redis-server SIGKILLed");
      // Down long enough for the receiver to answer 503 to many sends.
      await waitFor(async () => stats.at503.some((t) => t > from), 10_000, "a 503 while Redis is down");
      await sleep(3_000);
      const to = Date.now();
      await h.redis.restart();
      redisDown = { from, to };
      note("redis-server restarted (same port, same AOF)");

      await at(0.6);
      const second = h.workers.filter(alive)[0]!;
      activeAtKills.push(await activeJobs());
      second.child.kill("SIGKILL");
      await second.exited;
      note("worker 2 SIGKILLed");
      await h.startWorker();
      note("worker restarted");
    })();

    await sendAll(sends, {
      base: h.webBase,
      concurrency: 24,
      deadline: started + 200_000,
      stats,
      onProgress: (n) => {
        done = n;
        answered2xxAt.push(Date.now());
      },
    });
    note("all sent");
    await chaos;

    const { effects, tookMs } = await drain(fixture, 150_000);
    note(`drained ${sec(tookMs)} after the last send`);
    const minted = (await signerNonce()) - nonceBefore;
    report("storm", stats, fixture, effects, {
      signerTransactions: minted,
      activeJobsAtKills: activeAtKills,
      openJobsAtRedisCrash: openAtRedisCrash,
      timeline: events,
    });
    addTotals(stats, effects);

    expectExactlyOnce(stats, fixture, effects);
    // Redis down: the receiver answered 503 (and only 503) and never a 2xx it could not keep.
    expect(redisDown).toBeDefined();
    expect(stats.answered503).toBeGreaterThan(0);
    // Jobs accepted but not yet run were in Redis when it crashed: the AOF brought them back.
    expect(openAtRedisCrash).toBeGreaterThan(0);
    const grace = 500; // answers already on their way when the server died
    expect(answered2xxAt.filter((t) => t > redisDown!.from + grace && t < redisDown!.to)).toEqual([]);
    expect(stats.networkErrors).toBe(0);
    // One transaction per mint intent (single or batch), each order in one: nothing was minted twice.
    expect(minted).toBe(
      await mintTransactionsFor(
        h.dbh.db,
        fixture.orders.map((o) => o.referenceId),
      ),
    );
    // Two workers were killed; the web process and the current two workers never died.
    expect(h.workers.filter((w) => w.child.signalCode === "SIGKILL")).toHaveLength(2);
    expect(alive(h.web)).toBe(true);
    expect(h.workers.filter(alive)).toHaveLength(2);
    // Every KYC investor ended approved (events applied in provider-time order, whatever the delivery order).
    const notApproved = await h.dbh.db
      .selectFrom("investors")
      .select(sql<string>`count(*)`.as("n"))
      .where(
        "id",
        "in",
        fixture.investors.map((i) => i.id),
      )
      .where("kyc_status", "!=", "approved")
      .executeTakeFirstOrThrow();
    expect(Number(notApproved.n)).toBe(0);
  }, 330_000);

  it("Postgres unreachable for 10 s while jobs run: jobs retry and finish after it returns; none lost, none dead-lettered", async () => {
    const fixture = await prepare({ sumsubInvestors: 150, bakktPartyInvestors: 0, custodyTransactions: 300, bankPayments: 30, bakktDeposits: 0 });
    const sends = twiceShuffled(fixture.deliveries);
    const stats = emptyStats();
    const retriesBefore = retriesLogged();
    const nonceBefore = await signerNonce();
    const ids = fixture.investors.map((i) => i.id);
    const sending = sendAll(sends, { base: h.webBase, concurrency: 16, deadline: Date.now() + 60_000, stats });
    // Cut once the workers are busy with this batch.
    await waitFor(
      async () => {
        const r = await h.dbh.db.selectFrom("kyc_events").select(sql<string>`count(*)`.as("n")).where("investor_id", "in", ids).executeTakeFirstOrThrow();
        return Number(r.n) >= 20;
      },
      30_000,
      "first effects of the batch",
    );
    h.pgProxy.cut();
    const cutAt = Date.now();
    await sleep(10_000);
    // Postgres is still down: nothing of this batch may have been dead-lettered meanwhile.
    expect((await backlog(h.queues)).deadLetters).toEqual({});
    const open = (await backlog(h.queues)).open;
    h.pgProxy.restore();
    await sending;
    const { effects, tookMs } = await drain(fixture, 90_000);
    const retries = retriesLogged() - retriesBefore;
    report("postgres-down-10s", stats, fixture, effects, {
      openAtRestore: open,
      retriesLogged: retries,
      finishedAfterRestoreMs: Date.now() - cutAt - 10_000,
      drainMs: tookMs,
    });
    addTotals(stats, effects);
    expectExactlyOnce(stats, fixture, effects);
    // The outage really hit jobs: some were waiting or retrying when Postgres came back.
    expect(Object.values(open).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(retries).toBeGreaterThan(0);
    expect((await signerNonce()) - nonceBefore).toBe(
      await mintTransactionsFor(
        h.dbh.db,
        fixture.orders.map((o) => o.referenceId),
      ),
    );
    expect(h.workers.filter(alive)).toHaveLength(2);
  }, 150_000);

  it("chain RPC down for 10 s: mints wait and complete exactly once after it returns", async () => {
    const fixture = await prepare({
      sumsubInvestors: 60,
      bakktPartyInvestors: 0,
      custodyTransactions: 0,
      bankPayments: 60,
      bakktDeposits: 0,
      preApproved: true,
    });
    const sends = twiceShuffled(fixture.deliveries);
    const stats = emptyStats();
    const retriesBefore = retriesLogged();
    const monitorFailuresBefore = monitorFailuresLogged();
    const nonceBefore = await signerNonce();
    const refs = fixture.orders.map((o) => o.referenceId);
    const sending = sendAll(sends, { base: h.webBase, concurrency: 16, deadline: Date.now() + 60_000, stats });
    // Cut as soon as the first mint transaction of these orders is signed: others are then
    // signed, broadcast or about to be, and their receipts not read yet.
    await waitFor(async () => (await mintCarriers(h.dbh.db, refs)).some((c) => c.status !== "intent"), 30_000, "first mint of the batch signed");
    h.rpcProxy.cut();
    const atCut = await mintCarriers(h.dbh.db, refs);
    const ledgerAtCut: Record<string, number> = {};
    for (const t of atCut) ledgerAtCut[t.status] = (ledgerAtCut[t.status] ?? 0) + 1;
    await sleep(10_000);
    const during = await h.dbh.db
      .selectFrom("orders")
      .select(["status"])
      .where(
        "reference_id",
        "in",
        fixture.orders.map((o) => o.referenceId),
      )
      .execute();
    const waiting = during.filter((o) => o.status !== "completed").length;
    expect((await backlog(h.queues)).deadLetters).toEqual({});
    h.rpcProxy.restore();
    await sending;
    const { effects, tookMs } = await drain(fixture, 90_000);
    const retries = retriesLogged() - retriesBefore;
    report("chain-rpc-down-10s", stats, fixture, effects, {
      mintLedgerAtCut: ledgerAtCut,
      ordersWaitingAtRestore: waiting,
      retriesLogged: retries,
      monitorPassesFailed: monitorFailuresLogged() - monitorFailuresBefore,
      drainMs: tookMs,
    });
    addTotals(stats, effects);
    expectExactlyOnce(stats, fixture, effects);
    expect(waiting).toBeGreaterThan(0);
    // The outage hit the mints in flight: jobs retried, or the monitor could not read the chain.
    expect(retries + monitorFailuresLogged() - monitorFailuresBefore).toBeGreaterThan(0);
    // One transaction per mint intent on chain, and none left pending in the node or the ledger.
    expect((await signerNonce()) - nonceBefore).toBe(await mintTransactionsFor(h.dbh.db, refs));
    const open = await h.dbh.db.selectFrom("chain_transactions").select("intent_key").where("status", "not in", ["confirmed", "reverted"]).execute();
    expect(open).toEqual([]);
    const pool = (await h.chain.rpc("txpool_status", [])) as { pending: string; queued: string };
    expect([Number(pool.pending), Number(pool.queued)]).toEqual([0, 0]);
    expect(totals.duplicates).toBe(0);
    expect(totals.lost).toBe(0);
  }, 150_000);
});

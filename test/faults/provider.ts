import type { DbHandle } from "../../src/db/client.js";
import type { Delivery, Fixture } from "./deliveries.js";

/** What the simulated providers saw, request by request. */
export interface SendStats {
  /** HTTP requests made, first sends and retries. */
  requests: number;
  /** Answers 2xx (202 new, 200 duplicate). */
  answered2xx: number;
  answered202: number;
  answered200: number;
  answered503: number;
  /** Connection refused / reset: the receiver itself was gone (must stay 0). */
  networkErrors: number;
  /** Any other status: a bug (must stay 0); the first few are kept with their body. */
  unexpected: { status: number; body: string }[];
  /** When each 503 was answered (ms since epoch). */
  at503: number[];
}

export const emptyStats = (): SendStats => ({
  requests: 0,
  answered2xx: 0,
  answered202: 0,
  answered200: 0,
  answered503: 0,
  networkErrors: 0,
  unexpected: [],
  at503: [],
});

export interface SendOptions {
  base: string;
  concurrency: number;
  /** Give up (and fail the test) on any send still not answered 2xx at this time. */
  deadline: number;
  /** Called after each send answered 2xx, with how many of `sends` are done. */
  onProgress?: (done: number) => void;
  stats: SendStats;
}

/**
 * A provider's delivery loop: POST the signed request; anything but 2xx (503 while our Redis is
 * down, or a refused connection) is retried after a short pause, as providers retry on any
 * non-2xx, until answered 2xx. The job id of the first 2xx is kept on the delivery.
 */
export async function sendAll(sends: Delivery[], opts: SendOptions): Promise<void> {
  const { stats } = opts;
  let next = 0;
  let done = 0;
  const sendOne = async (d: Delivery) => {
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > opts.deadline) throw new Error(`delivery ${d.kind} ${d.subject} not accepted before the deadline (${attempt} attempts)`);
      stats.requests++;
      let res: Response;
      try {
        res = await fetch(`${opts.base}${d.path}`, { method: "POST", body: d.body, headers: d.headers, signal: AbortSignal.timeout(10_000) });
      } catch {
        stats.networkErrors++;
        await pause(attempt);
        continue;
      }
      const text = await res.text();
      if (res.status === 200 || res.status === 202) {
        stats.answered2xx++;
        if (res.status === 202) stats.answered202++;
        else stats.answered200++;
        const { jobId } = JSON.parse(text) as { jobId: string };
        if (d.jobId && d.jobId !== jobId) throw new Error(`two job ids for one delivery: ${d.jobId} and ${jobId}`);
        d.jobId = jobId;
        return;
      }
      if (res.status === 503) {
        stats.answered503++;
        stats.at503.push(Date.now());
      } else {
        if (stats.unexpected.length < 5) stats.unexpected.push({ status: res.status, body: text.slice(0, 300) });
        else stats.unexpected.push({ status: res.status, body: "" });
        // A 4xx would be retried forever by a real provider too; the test fails on it instead.
        return;
      }
      await pause(attempt);
    }
  };
  const lane = async () => {
    while (next < sends.length) {
      const d = sends[next++]!;
      await sendOne(d);
      opts.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
}

const pause = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1_000)));

/** Insert the fixture's investors and orders (the admin API's tables) directly. */
export async function seedFixture(dbh: DbHandle, fixture: Fixture, tokenAddress: string, opts: { approved: boolean }): Promise<void> {
  const chunk = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
  for (const part of chunk(fixture.investors, 500)) {
    await dbh.db
      .insertInto("investors")
      .values(
        part.map((i) => ({
          id: i.id,
          wallet: i.wallet,
          first_name: "Ada",
          last_name: "Lovelace",
          date_of_birth: "1980-01-01",
          nationality: "GB",
          bakkt_party_ref: i.bakktPartyRef,
          ...(opts.approved ? { kyc_status: "approved" as const } : {}),
        })),
      )
      .execute();
  }
  for (const part of chunk(fixture.orders, 500)) {
    await dbh.db
      .insertInto("orders")
      .values(
        part.map((o) => ({
          reference_id: o.referenceId,
          investor_id: o.investorId,
          token_address: tokenAddress,
          token_amount: o.tokenAmount.toString(),
          expected_amount: o.amount,
          currency: "USD",
        })),
      )
      .execute();
  }
}

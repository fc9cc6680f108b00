import { ProviderError } from "../http-error.js";
import type { KycSubmitContext } from "./adapter.js";

const DONE = "done";

export interface CreateStep<T> {
  /** Progress key of the marker: the time the create started while it is in flight, then "done". */
  key: string;
  /** Named in the in-doubt message: "Jumio account", "Trulioo verification". */
  what: string;
  /** Where a person finds what the lost attempt (started at `since`) may have created; no personal data. */
  reference(since: string): string;
  /** The result an earlier attempt stored, if any. */
  stored(progress: KycSubmitContext["progress"]): T | undefined;
  create(): Promise<T>;
  /** What to store of the result (ids, link); stored before createOnce returns. */
  toProgress(result: T): Record<string, string>;
}

/**
 * One create at a provider that offers neither an idempotency key nor a lookup by our
 * reference (Jumio accounts, Trulioo verifications, Onfido applicants), at most once:
 *
 * 1. A result stored by an earlier attempt is returned as it is (`existing`).
 * 2. Otherwise a marker is claimed (only if no attempt holds it), the provider is called, and
 *    its answer is stored (the marker set to "done") before this returns: a crash after that
 *    resumes at 1.
 * 3. An answer with an HTTP error status, or a request that never left (a refused connection,
 *    an unknown host), means the provider created nothing: the marker is dropped and the error
 *    thrown, so the job's retry creates afresh. Without an answer (a timeout, a reset
 *    connection, a crash before the store) the marker stays, and the next attempt finds it and
 *    throws `in_doubt`, which is never retried: the provider may hold what the lost attempt
 *    created, and creating again could verify the investor twice. The message names where to
 *    look; a person deletes the marker (or stores the found ids in `investors.kyc_submission`)
 *    and replays the dead letter.
 */
export async function createOnce<T>(ctx: KycSubmitContext, step: CreateStep<T>): Promise<{ value: T; existing: boolean }> {
  const stored = step.stored(ctx.progress);
  if (stored !== undefined) return { value: stored, existing: true };
  const inDoubt = (since: string) =>
    new ProviderError(
      `${step.what}: an earlier attempt's answer was lost, so the provider may already hold one (${step.reference(since)}); not creating a second. ` +
        `Look it up there, then clear kyc_submission.${step.key} or store its ids, and replay`,
      "in_doubt",
      false,
    );
  const since = ctx.progress[step.key];
  if (since !== undefined) throw inDoubt(since);
  const now = new Date().toISOString();
  // Conditional: an attempt racing this one (its lock expired while it ran) may have claimed it since we read the progress.
  if (!(await ctx.claim(step.key, now))) throw inDoubt(now);
  let value: T;
  try {
    value = await step.create();
  } catch (err) {
    // The provider answered an error, or the request never reached it: nothing was created.
    if (err instanceof ProviderError && (err.status !== undefined || err.notSent)) await ctx.save({ [step.key]: null });
    throw err;
  }
  // The marker stays, as "done": an attempt racing this one with stale progress cannot claim it again.
  await ctx.save({ ...step.toProgress(value), [step.key]: DONE });
  return { value, existing: false };
}

import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import { isBreakerOpen } from "../clients/breaker.js";
import { ProviderError } from "../clients/http-error.js";

/**
 * A provider's API call inside a job: an answer that will never change (404, 403, 400)
 * dead-letters the job at once for a person to look at; anything a retry may cure (network,
 * timeouts, 429, 5xx, an unreadable body) is thrown as is, so the job backs off and retries.
 * `onError` sees every failure first (metrics by kind).
 */
export async function providerCall<T>(call: () => Promise<T>, onError?: (err: unknown) => void): Promise<T> {
  try {
    return await call();
  } catch (err) {
    onError?.(err);
    if (err instanceof ProviderError && !err.retryable) throw new UnrecoverableError(err.message);
    throw err;
  }
}

export interface CircuitCallHooks {
  /** The circuit was open and the job is postponed by `waitMs` (metrics, a log line). */
  onPostpone?(waitMs: number): void;
  /** A failure of the call itself, not the open circuit. */
  onError?(err: unknown): void;
}

/**
 * providerCall for a call behind a breaker: while the provider's circuit is open the job is
 * moved back to the delayed set until the breaker lets a trial call through (plus jitter, so
 * postponed jobs do not return at once), spending no attempt (BullMQ's DelayedError): an
 * outage never dead-letters a job.
 */
export async function circuitCall<T>(
  call: () => Promise<T>,
  circuit: { retryAfterMs?(): number },
  job: Job,
  token: string | undefined,
  hooks: CircuitCallHooks = {},
): Promise<T> {
  try {
    return await providerCall(call, (err) => {
      if (!isBreakerOpen(err)) hooks.onError?.(err);
    });
  } catch (err) {
    if (!isBreakerOpen(err)) throw err;
    const waitMs = Math.max(circuit.retryAfterMs?.() ?? 0, 250) + Math.floor(Math.random() * 250);
    hooks.onPostpone?.(waitMs);
    await job.moveToDelayed(Date.now() + waitMs, token);
    throw new DelayedError();
  }
}

import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import { isBreakerOpen } from "../../clients/breaker.js";
import { ProviderError } from "../../clients/http-error.js";

/**
 * A KYC provider's API call inside a job: an answer that will never change (404, 403, 400)
 * dead-letters the job at once for a person to look at; anything a retry may cure (network,
 * timeouts, 429, 5xx, an unreadable body) is thrown as is, so the job backs off and retries.
 */
export async function providerCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ProviderError && !err.retryable) throw new UnrecoverableError(err.message);
    throw err;
  }
}

/**
 * providerCall for an adapter behind a breaker: while the provider's circuit is open the job is
 * moved back to the delayed set until the breaker lets a trial call through, spending no
 * attempt (BullMQ's DelayedError), so an outage never dead-letters a job.
 */
export async function circuitCall<T>(call: () => Promise<T>, circuit: { retryAfterMs?(): number }, job: Job, token: string | undefined): Promise<T> {
  try {
    return await providerCall(call);
  } catch (err) {
    if (!isBreakerOpen(err)) throw err;
    await job.moveToDelayed(Date.now() + Math.max(circuit.retryAfterMs?.() ?? 0, 250) + Math.floor(Math.random() * 250), token);
    throw new DelayedError();
  }
}

import { UnrecoverableError } from "bullmq";
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

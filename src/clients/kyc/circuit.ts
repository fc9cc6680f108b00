import type { Registry } from "prom-client";
import { createBreaker, type BreakerOptions, watchBreaker } from "../breaker.js";
import { ProviderError } from "../http-error.js";
import type { KycAdapter } from "./adapter.js";

/**
 * An adapter whose calls go through one breaker per provider. The reconciliation fans out one
 * poll per open verification: during a provider's outage, without a breaker each of them would
 * spend its attempts on timeouts; with it, they are postponed until a trial call succeeds. A
 * refusal (4xx) is about one applicant, not the provider's health, and does not count.
 */
export function behindBreaker(adapter: KycAdapter, opts: BreakerOptions, registry?: Registry): KycAdapter {
  const breaker = createBreaker(
    (op: () => Promise<unknown>) => op(),
    opts,
    (err) => err instanceof ProviderError && !err.retryable,
  );
  if (registry) watchBreaker(registry, adapter.provider, breaker);
  return {
    provider: adapter.provider,
    submit: (i, ctx) => breaker.fire(() => adapter.submit(i, ctx)) as ReturnType<KycAdapter["submit"]>,
    status: (ref) => breaker.fire(() => adapter.status(ref)) as ReturnType<KycAdapter["status"]>,
    retryAfterMs: () => breaker.retryAfterMs(),
  };
}

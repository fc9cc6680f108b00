import CircuitBreaker from "opossum";
import { Gauge, type Registry } from "prom-client";
import { metricsOnce } from "../metrics.js";

export interface BreakerOptions {
  timeoutMs: number;
  errorThresholdPercentage: number;
  resetTimeoutMs: number;
  /** Calls in the rolling window before the error rate can open the breaker. */
  volumeThreshold: number;
}

export type BreakerState = "closed" | "open" | "half_open";

export interface Breaker<A extends unknown[], R> {
  fire(...args: A): Promise<R>;
  state(): BreakerState;
  /** When an open breaker will next let a trial call through. */
  retryAfterMs(): number;
  on(event: "open" | "halfOpen" | "close", fn: () => void): void;
  shutdown(): void;
}

/** True for the error an open breaker throws instead of calling the provider. */
export const isBreakerOpen = (err: unknown) => (err as { code?: string })?.code === "EOPENBREAKER";

/**
 * An opossum breaker around one provider call. Errors the caller marks as not the
 * provider's fault (`isClientError`, e.g. a 4xx for one bad record) do not count toward
 * opening it.
 */
export function createBreaker<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
  opts: BreakerOptions,
  isClientError: (err: unknown) => boolean = () => false,
): Breaker<A, R> {
  const breaker = new CircuitBreaker(fn, {
    timeout: opts.timeoutMs,
    errorThresholdPercentage: opts.errorThresholdPercentage,
    resetTimeout: opts.resetTimeoutMs,
    volumeThreshold: opts.volumeThreshold,
    errorFilter: isClientError,
  });
  let openedAt = 0;
  breaker.on("open", () => (openedAt = Date.now()));
  return {
    fire: (...args) => breaker.fire(...args) as Promise<R>,
    state: () => (breaker.opened ? "open" : breaker.halfOpen ? "half_open" : "closed"),
    retryAfterMs: () => (breaker.opened ? Math.max(0, openedAt + opts.resetTimeoutMs - Date.now()) : 0),
    on: (event, handler) => void (breaker as unknown as { on(e: string, f: () => void): void }).on(event, handler),
    shutdown: () => breaker.shutdown(),
  };
}

/**
 * Export a breaker's state as `hookrail_circuit_breaker_open{provider}` (1 open, 0.5
 * half-open, 0 closed), read when Prometheus scrapes.
 */
export function watchBreaker(registry: Registry, provider: string, breaker: Pick<Breaker<never[], unknown>, "state">): void {
  const watched = metricsOnce(registry, "circuit-breakers", (r) => {
    const breakers = new Map<string, Pick<Breaker<never[], unknown>, "state">>();
    new Gauge({
      name: "hookrail_circuit_breaker_open",
      help: "1 while a provider's circuit breaker is open (0.5 half-open, 0 closed)",
      labelNames: ["provider"],
      registers: [r],
      collect() {
        for (const [name, b] of breakers) {
          const state = b.state();
          this.set({ provider: name }, state === "open" ? 1 : state === "half_open" ? 0.5 : 0);
        }
      },
    });
    return breakers;
  });
  watched.set(provider, breaker);
}

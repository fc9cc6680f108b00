import type { Logger } from "../log.js";

/** Every process must be gone within this long after SIGTERM (Heroku-style platforms kill at 30 s). */
export const HARD_EXIT_MS = 25_000;

/**
 * Run `stop` once on SIGTERM or SIGINT, then exit 0. A watchdog exits 1 if stopping hangs past
 * the hard limit, so the platform never has to SIGKILL us mid-write.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const watchdog = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, HARD_EXIT_MS);
    watchdog.unref();
    stop().then(
      () => {
        log.info("stopped cleanly");
        log.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err: (err as Error).message }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/**
 * Start-up failures (bad config, evicting Redis) print one readable message and exit 1,
 * never a stack trace.
 */
export function exitOnStartupError(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`hookrail: cannot start: ${message}\n`);
  process.exit(1);
}

import type { Logger } from "../log.js";

/** Only one process does the work at a time; the others stand by. */
export interface Lease {
  /** Take or renew the lease; false while another process holds it. */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

export interface LeasedPollerOptions {
  /** Named in the log line of a failed pass (`<what> pass failed`). */
  what: string;
  intervalMs: number;
  /** Unset = this process always runs the pass. */
  lease?: Lease;
  log: Logger;
  pass(): Promise<unknown>;
}

/**
 * Runs `pass` every `intervalMs` while this process holds the lease: passes never overlap,
 * a failed pass is logged and the next one runs on schedule, and `stop` waits for the pass
 * in progress and gives the lease back. For work that is safe twice (every write it makes is
 * conditional) but wasteful when several processes do it.
 */
export class LeasedPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: LeasedPollerOptions) {}

  start(): void {
    this.stopped = false;
    const tick = async () => {
      try {
        if (!this.opts.lease || (await this.opts.lease.acquire())) await this.opts.pass();
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, `${this.opts.what} pass failed`);
      }
      if (!this.stopped) this.timer = setTimeout(() => (this.running = tick()), this.opts.intervalMs);
    };
    this.running = tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.opts.lease?.release().catch(() => {});
  }
}

import type { Job } from "bullmq";
import type { Logger } from "../log.js";

/**
 * A processor applies one job's business effect. It must be safe to run more than once for
 * the same job (Postgres unique keys are the truth). Throw `UnrecoverableError` (bullmq)
 * for failures a retry cannot fix; anything else is retried with backoff. To postpone a job
 * without spending an attempt (a provider's circuit is open, an earlier event must land
 * first), call `job.moveToDelayed(when, token)` and throw bullmq's `DelayedError`.
 */
export type Processor<T = unknown> = (job: Job<T>, log: Logger, token?: string) => Promise<unknown>;

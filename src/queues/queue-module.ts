import type { DefaultJobOptions, Job } from "bullmq";
import type { z } from "zod";
import type { Logger } from "../log.js";

/**
 * A processor applies one job's business effect. It receives the job's data as its queue's
 * schema produced it (checked once, by the worker host) and must be safe to run more than
 * once for the same job (Postgres unique keys are the truth). Throw `UnrecoverableError`
 * (bullmq) for failures a retry cannot fix; anything else is retried with backoff. To
 * postpone a job without spending an attempt (a provider's circuit is open, an earlier event
 * must land first), call `job.moveToDelayed(when, token)` and throw bullmq's `DelayedError`.
 */
export type Processor<D> = (data: D, job: Job, log: Logger, token?: string) => Promise<unknown>;

/** What producers and the worker host need to know of a queue. */
export interface QueueSettings<S extends z.ZodType = z.ZodType> {
  /** The queue's name; its dead-letter queue is `<name>-dlq`. */
  name: string;
  /** The job's data. What the ingress accepted is this schema's input; processors get its output. */
  schema: S;
  /** Attempts before the job is dead-lettered. */
  attempts: number;
  /** First retry delay; doubles each attempt (BullMQ exponential backoff). */
  backoffMs: number;
  /** Completed jobs are kept this long so ordinary redeliveries hit the same job id. */
  keepCompletedSeconds: number;
  /** Failed jobs stay visible in the board this long; their dead letter keeps the details. */
  keepFailedSeconds: number;
}

/** A repeatable job: one scheduler id across every worker process, its pattern from config. */
export interface SchedulerSettings<C> {
  id: string;
  jobName: string;
  pattern(config: C): string;
}

/**
 * One queue of hookrail: its settings, the processor that serves it and, for a repeatable
 * job, its scheduler. The queue list (src/processes/queue-modules.ts) holds one of these per
 * queue; queue names, the worker's processors and the schedulers all come from that list.
 */
export interface QueueModule<S extends z.ZodType = z.ZodType, Deps extends { config: unknown } = { config: unknown }> extends QueueSettings<S> {
  /** Undefined when something it needs is not configured (no chain, no provider): the queue's jobs then wait. */
  processor(deps: Deps): Processor<z.output<S>> | undefined;
  /** A rate limit BullMQ enforces across every worker process of the queue. */
  limiter?(config: Deps["config"]): { max: number; duration: number };
  /** Jobs of this queue one worker process runs at once; unset = WORKER_CONCURRENCY. */
  concurrency?(config: Deps["config"]): number;
  scheduler?: SchedulerSettings<Deps["config"]>;
}

/** Type the module once, so its processor's data is the schema's output. */
export const defineQueue = <S extends z.ZodType, Deps extends { config: unknown }>(m: QueueModule<S, Deps>): QueueModule<S, Deps> => m;

/** Give a queue whose settings an ingress owns (its job schema is what the ingress accepted) its processor. */
export const withProcessor = <S extends z.ZodType, Deps extends { config: unknown }>(
  settings: QueueSettings<S>,
  processor: (deps: Deps) => Processor<z.output<S>> | undefined,
): QueueModule<S, Deps> => ({ ...settings, processor });

export const DAY_SECONDS = 24 * 60 * 60;

/**
 * How long a queue keeps retrying a job that always fails: the sum of its exponential backoff
 * waits (backoffMs, doubling) between its attempts, processing time aside.
 */
export const retryWindowMs = (def: Pick<QueueSettings, "attempts" | "backoffMs">): number => def.backoffMs * (2 ** (def.attempts - 1) - 1);

/** A duration for people: `850 ms`, `14 s`, `17 min`, `2 h 16 min`, `1 d 2 h`. */
export function humanDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1_000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

export const deadLetterName = (queue: string) => `${queue}-dlq`;

export function jobOptions(def: QueueSettings): DefaultJobOptions {
  return {
    attempts: def.attempts,
    backoff: { type: "exponential", delay: def.backoffMs },
    removeOnComplete: { age: def.keepCompletedSeconds },
    removeOnFail: { age: def.keepFailedSeconds },
  };
}

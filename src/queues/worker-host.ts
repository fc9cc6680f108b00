import { DelayedError, UnrecoverableError, Worker, type Job } from "bullmq";
import type { RedisClient } from "../redis/connection.js";
import type { Logger } from "../log.js";
import { issuesOf } from "../validation/issues.js";
import { addDeadLetter, deadLetterFromJob } from "./dead-letter.js";
import { humanDuration, type Processor, type QueueModule } from "./queue-module.js";
import type { QueueSet } from "./queue-set.js";

/** The last attempt's error, reworded to say retrying is over (its stack and cause kept). */
function gaveUp(err: Error, attempts: number, sinceAddedMs: number): Error {
  const final = new Error(`gave up after ${attempts} attempt${attempts === 1 ? "" : "s"} over ${humanDuration(sinceAddedMs)}: ${err.message}`, { cause: err });
  final.name = err.name;
  if (err.stack) final.stack = err.stack;
  return final;
}

export interface WorkerHostOptions<Deps extends { config: unknown }> {
  /** Blocking connection (reconnects forever); each queue's prefix comes from `queues`. */
  connection: RedisClient;
  queues: QueueSet;
  /** The queue list; `serve` picks which of them this process works on. */
  // biome-ignore lint/suspicious/noExplicitAny: each module's data type differs; the host only passes it through.
  modules: readonly QueueModule<any, Deps>[];
  /** Handed to each module's processor factory. */
  deps: Deps;
  /** Replace a queue's processor (tests and benchmarks wrap or slow down the real one). */
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  processorOverrides?: Record<string, (deps: Deps) => Processor<any> | undefined>;
  serve: readonly string[];
  concurrency: number;
  /**
   * Lock of a running job (renewed at half this while the job runs) and the interval of the
   * stalled-job check: a job whose worker died is handed out again within about twice this.
   */
  lockDurationMs?: number;
  log: Logger;
  /** Observe finished jobs (metrics). */
  onFinished?: (queue: string, outcome: "completed" | "failed" | "dead_lettered", job: Job, ms: number) => void;
}

export interface WorkerHost {
  workers: Worker[];
  /** Stop taking jobs and let in-flight ones finish; after `timeoutMs` hand the rest back. */
  close(timeoutMs: number): Promise<void>;
}

/** How long each step of a forced stop may take. */
const STOP_STEP_MS = 2_000;

/** True if `p` settled within `ms`. */
const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);

const isUnrecoverable = (err: unknown) => err instanceof UnrecoverableError || (err as Error)?.name === "UnrecoverableError";

/**
 * Run the processors of the served queues. Each job's data is checked against its queue's
 * schema here, once, whatever put the job there (an ingress, a replayed dead letter, a hand-made
 * job): data the schema rejects is dead-lettered with the schema's own messages and never
 * reaches the processor, which receives the schema's output.
 */
export function startWorkers<Deps extends { config: unknown }>(opts: WorkerHostOptions<Deps>): WorkerHost {
  const workers: Worker[] = [];
  // Jobs running right now with their lock tokens, so a forced stop can hand them back.
  const inFlight = new Map<string, { job: Job; token: string | undefined }>();
  const byName = new Map(opts.modules.map((m) => [m.name, m]));
  for (const name of opts.serve) {
    const def = byName.get(name);
    if (!def) throw new Error(`no queue named ${name}`);
    const processor = (opts.processorOverrides?.[name] ?? def.processor)(opts.deps);
    if (!processor) {
      opts.log.warn({ queue: name }, "this queue's processor is not configured here; its jobs wait");
      continue;
    }
    const dlq = opts.queues.deadLetters(name);
    const handler = async (job: Job, token?: string) => {
      const key = `${name}/${job.id}`;
      inFlight.set(key, { job, token });
      try {
        return await run(job, token);
      } finally {
        inFlight.delete(key);
      }
    };
    const run = async (job: Job, token: string | undefined) => {
      const log = opts.log.child({ queue: name, jobId: job.id, eventId: (job.data as { eventId?: string })?.eventId });
      const started = Date.now();
      try {
        const parsed = def.schema.safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${issuesOf(parsed.error).join("; ")}`);
        const result = await processor(parsed.data, job, log, token);
        opts.onFinished?.(name, "completed", job, Date.now() - started);
        return result;
      } catch (err) {
        // The processor postponed the job itself (moveToDelayed): not a failure.
        if (err instanceof DelayedError || (err as Error)?.name === "DelayedError") throw err;
        const thrown = err instanceof Error ? err : new Error(String(err));
        const unrecoverable = isUnrecoverable(thrown);
        const attempts = job.opts.attempts ?? 1;
        const last = unrecoverable || job.attemptsMade + 1 >= attempts;
        // The final reason (dead letter and the board's failed job) says that retrying stopped.
        const error = last && !unrecoverable ? gaveUp(thrown, attempts, Date.now() - job.timestamp) : thrown;
        if (last) {
          // Written before the job is marked failed: if this add fails the job is retried
          // rather than lost without a dead letter.
          // BullMQ counts this attempt only after we throw, hence the + 1.
          await addDeadLetter(dlq, deadLetterFromJob(job, error, unrecoverable, job.attemptsMade + 1));
          log.error({ err: error.message, attemptsMade: job.attemptsMade + 1, unrecoverable }, "job dead-lettered");
          opts.onFinished?.(name, "dead_lettered", job, Date.now() - started);
        } else {
          log.warn({ err: error.message, attemptsMade: job.attemptsMade + 1 }, "job failed; will retry");
          opts.onFinished?.(name, "failed", job, Date.now() - started);
        }
        throw error;
      }
    };
    const worker = new Worker(name, handler, {
      connection: opts.connection,
      prefix: opts.queues.prefixOf(name),
      concurrency: def.concurrency?.(opts.deps.config) ?? opts.concurrency,
      ...(def.limiter ? { limiter: def.limiter(opts.deps.config) } : {}),
      // A job whose worker died is picked up again once its lock expires and the next stalled
      // check runs (30 s each by default); after 3 such stalls it fails.
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.lockDurationMs ?? 30_000,
      maxStalledCount: 3,
    });
    worker.on("failed", (job, err) => {
      // A job that stalled too often never reached our catch block: dead-letter it here.
      if (job && /stalled/i.test(err.message)) {
        addDeadLetter(dlq, deadLetterFromJob(job, err, false)).catch((e) =>
          opts.log.error({ queue: name, jobId: job.id, err: (e as Error).message }, "could not dead-letter a stalled job"),
        );
      }
    });
    worker.on("error", (err) => opts.log.error({ queue: name, err: err.message }, "worker error"));
    workers.push(worker);
  }
  return {
    workers,
    close: async (timeoutMs) => {
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([graceful.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
      if (timedOut) {
        // Put unfinished jobs back in the wait list now rather than letting their locks expire
        // (30 s): another worker starts them at once. Processors are idempotent, so the
        // abandoned run here cannot double an effect.
        opts.log.warn({ jobs: [...inFlight.keys()] }, "in-flight jobs did not finish in time; handing them back");
        // Both steps are bounded: on a connection that cannot reach Redis (a Redis Cluster
        // node mid-failover, say) the worker connection queues commands without end, and a
        // stop must not hang on them; the caller disconnects and exits either way.
        const handedBack = await settlesWithin(
          Promise.all(
            [...inFlight.values()].map(({ job, token }) =>
              job
                .moveToWait(token)
                .catch((err: Error) => opts.log.error({ jobId: job.id, err: err.message }, "could not hand a job back; its lock will expire")),
            ),
          ),
          STOP_STEP_MS,
        );
        if (!handedBack) opts.log.error({ jobs: [...inFlight.keys()] }, "Redis did not take the jobs back in time; their locks will expire");
        // worker.close(true) would only return the graceful close already under way (BullMQ
        // memoises it), so we stop waiting here.
        await settlesWithin(Promise.all(workers.map((w) => w.disconnect().catch(() => {}))), STOP_STEP_MS);
      }
    },
  };
}

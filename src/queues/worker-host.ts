import { DelayedError, UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "../log.js";
import type { Processor } from "../processors/types.js";
import { QUEUES } from "./definitions.js";
import { addDeadLetter, deadLetterFromJob } from "./dead-letter.js";
import type { QueueName } from "./names.js";
import type { QueueSet } from "./registry.js";

export interface WorkerHostOptions {
  connection: Redis;
  prefix: string;
  queues: QueueSet;
  processors: Partial<Record<QueueName, Processor>>;
  serve: readonly QueueName[];
  concurrency: number;
  /**
   * Lock of a running job (renewed at half this while the job runs) and the interval of the
   * stalled-job check: a job whose worker died is handed out again within about twice this.
   */
  lockDurationMs?: number;
  /** Per-queue rate limits; BullMQ enforces them across every worker process of the queue. */
  limiters?: Partial<Record<QueueName, { max: number; duration: number }>>;
  log: Logger;
  /** Observe finished jobs (metrics). */
  onFinished?: (queue: QueueName, outcome: "completed" | "failed" | "dead_lettered", job: Job, ms: number) => void;
}

export interface WorkerHost {
  workers: Worker[];
  /** Stop taking jobs and let in-flight ones finish; after `timeoutMs` hand the rest back. */
  close(timeoutMs: number): Promise<void>;
}

const isUnrecoverable = (err: unknown) => err instanceof UnrecoverableError || (err as Error)?.name === "UnrecoverableError";

export function startWorkers(opts: WorkerHostOptions): WorkerHost {
  const workers: Worker[] = [];
  // Jobs running right now with their lock tokens, so a forced stop can hand them back.
  const inFlight = new Map<string, { job: Job; token: string | undefined }>();
  for (const name of opts.serve) {
    const processor = opts.processors[name];
    if (!processor) {
      opts.log.warn({ queue: name }, "no processor for this queue yet; its jobs wait");
      continue;
    }
    const def = QUEUES[name];
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
        if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
        const result = await processor(job, log, token);
        opts.onFinished?.(name, "completed", job, Date.now() - started);
        return result;
      } catch (err) {
        // The processor postponed the job itself (moveToDelayed): not a failure.
        if (err instanceof DelayedError || (err as Error)?.name === "DelayedError") throw err;
        const error = err instanceof Error ? err : new Error(String(err));
        const unrecoverable = isUnrecoverable(error);
        const attempts = job.opts.attempts ?? 1;
        const last = unrecoverable || job.attemptsMade + 1 >= attempts;
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
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      ...(opts.limiters?.[name] ? { limiter: opts.limiters[name] } : {}),
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
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
      ]);
      if (timedOut) {
        // Put unfinished jobs back in the wait list now rather than letting their locks expire
        // (30 s): another worker starts them at once. Processors are idempotent, so the
        // abandoned run here cannot double an effect.
        opts.log.warn({ jobs: [...inFlight.keys()] }, "in-flight jobs did not finish in time; handing them back");
        await Promise.all(
          [...inFlight.values()].map(({ job, token }) =>
            job.moveToWait(token).catch((err: Error) => opts.log.error({ jobId: job.id, err: err.message }, "could not hand a job back; its lock will expire")),
          ),
        );
        // worker.close(true) would only return the graceful close already under way (BullMQ
        // memoises it), so we stop waiting here; the caller disconnects and exits.
        await Promise.all(workers.map((w) => w.disconnect().catch(() => {})));
      }
    },
  };
}

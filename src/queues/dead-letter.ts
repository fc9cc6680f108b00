import type { Job, Queue } from "bullmq";
import { z } from "zod";

/** What a dead letter keeps: enough to understand the failure and to run the job again. */
export const deadLetterSchema = z.object({
  kind: z.enum(["job", "message"]),
  queue: z.string(),
  jobId: z.string(),
  name: z.string(),
  data: z.unknown(),
  failedReason: z.string(),
  stacktrace: z.array(z.string()),
  attemptsMade: z.number(),
  createdAt: z.number().nullable(),
  processedOn: z.number().nullable(),
  finishedOn: z.number().nullable(),
  deadLetteredAt: z.number(),
  unrecoverable: z.boolean(),
  /** The original retry settings, reused on replay. */
  retry: z.object({ attempts: z.number().optional(), backoff: z.unknown().optional() }).optional(),
  /** Set for messages that never became a job (e.g. a malformed SQS body). */
  source: z.record(z.string(), z.unknown()).optional(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

export function deadLetterFromJob(job: Job, err: Error, unrecoverable: boolean, attemptsMade = job.attemptsMade): DeadLetter {
  return {
    kind: "job",
    queue: job.queueName,
    jobId: String(job.id),
    name: job.name,
    data: job.data,
    failedReason: err.message,
    stacktrace: [...(job.stacktrace ?? []), ...(err.stack ? [err.stack] : [])],
    attemptsMade,
    createdAt: job.timestamp ?? null,
    processedOn: job.processedOn ?? null,
    finishedOn: Date.now(),
    deadLetteredAt: Date.now(),
    unrecoverable,
    retry: { attempts: job.opts.attempts, backoff: job.opts.backoff },
  };
}

/**
 * A dead letter's own id. For a job it names the failed attempt (job id + when that attempt
 * started), so recording the same failure twice keeps one letter, while a replayed job that
 * fails again gets a new letter instead of colliding with the one its replay is about to
 * delete. A raw message's letter is keyed by the message alone.
 */
export const letterId = (letter: DeadLetter) => (letter.kind === "job" ? `${letter.jobId}.${letter.processedOn ?? letter.createdAt ?? 0}` : letter.jobId);

export async function addDeadLetter(dlq: Queue, letter: DeadLetter): Promise<void> {
  await dlq.add(letter.name, letter, { jobId: letterId(letter) });
}

// BullMQ 6 keeps a paused queue's jobs in "waiting" (the "paused" state is gone).
const PENDING = ["waiting", "delayed", "prioritized"] as const;

async function letterEntries(dlq: Queue): Promise<Job[]> {
  const jobs = await dlq.getJobs([...PENDING], 0, -1, true);
  return jobs.filter((j): j is Job => Boolean(j)).sort((a, b) => a.timestamp - b.timestamp);
}

/** A dead letter and its id: the id the dashboard shows for it, which replay accepts. */
export type ListedDeadLetter = DeadLetter & { id: string };

export async function listDeadLetters(dlq: Queue): Promise<ListedDeadLetter[]> {
  return (await letterEntries(dlq)).map((j) => ({ id: String(j.id), ...deadLetterSchema.parse(j.data) }));
}

const decodedOnce = (id: string): string | undefined => {
  try {
    const d = decodeURIComponent(id);
    return d === id ? undefined : d;
  } catch {
    return undefined;
  }
};

/**
 * The letter an operator means by `id`. One form is shown everywhere, the letter's own id (the
 * dashboard's job id on the dead-letter queue, `id` in `npm run dlq -- list`): that letter.
 * The failed job's id also works (its newest letter). An id copied from the dashboard's URL,
 * where `%` is encoded once more (`%252E`), is read decoded once.
 */
function findLetter(entries: Job[], byJobId: Map<string, Job[]>, id: string): Job | undefined {
  for (const candidate of [id, decodedOnce(id)]) {
    if (candidate === undefined) continue;
    const found = entries.find((e) => e.id === candidate) ?? byJobId.get(candidate)?.at(-1);
    if (found) return found;
  }
  return undefined;
}

export interface ReplayResult {
  replayed: string[];
  skipped: { jobId: string; reason: string }[];
}

/**
 * Put dead letters back on their queue under their original ids. The failed original is
 * removed first, because BullMQ ignores an add whose id still exists. A crash part-way leaves
 * the dead letter in place, so replaying again is safe.
 */
export async function replayDeadLetters(queue: Queue, dlq: Queue, ids: string[] | "all"): Promise<ReplayResult> {
  const result: ReplayResult = { replayed: [], skipped: [] };
  const entries = await letterEntries(dlq);
  const byJobId = new Map<string, Job[]>();
  for (const e of entries) {
    const id = (e.data as DeadLetter).jobId;
    byJobId.set(id, [...(byJobId.get(id) ?? []), e]);
  }
  // The newest letter of each job is the one replayed with --all.
  const targets: (Job | undefined)[] = ids === "all" ? [...byJobId.values()].map((l) => l.at(-1)) : ids.map((id) => findLetter(entries, byJobId, id));
  // The job's other letters go once one is replayed.
  const older = (entry: Job) => (byJobId.get((entry.data as DeadLetter).jobId) ?? []).filter((e) => e !== entry);
  for (let i = 0; i < targets.length; i++) {
    const entry = targets[i];
    if (!entry) {
      result.skipped.push({ jobId: ids === "all" ? "?" : ids[i]!, reason: "no such dead letter" });
      continue;
    }
    const letter = deadLetterSchema.parse(entry.data);
    if (letter.kind !== "job") {
      result.skipped.push({ jobId: letter.jobId, reason: "not a job (raw message); inspect and re-send at the source" });
      continue;
    }
    const original = await queue.getJob(letter.jobId);
    if (original) {
      const state = await original.getState();
      if (state !== "failed" && state !== "completed") {
        result.skipped.push({ jobId: letter.jobId, reason: `job is ${state} in ${queue.name}` });
        continue;
      }
      await original.remove();
    }
    await queue.add(letter.name, letter.data, {
      jobId: letter.jobId,
      ...(letter.retry?.attempts ? { attempts: letter.retry.attempts } : {}),
      ...(letter.retry?.backoff ? { backoff: letter.retry.backoff as never } : {}),
    });
    for (const e of [entry, ...older(entry)]) await e.remove();
    result.replayed.push(letter.jobId);
  }
  return result;
}

export async function purgeDeadLetters(dlq: Queue): Promise<number> {
  const count = await dlq.getJobCountByTypes(...PENDING);
  await dlq.obliterate({ force: true });
  return count;
}

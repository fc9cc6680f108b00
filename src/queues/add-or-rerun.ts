import type { Queue } from "bullmq";

/**
 * Add a job under `jobId`, or run again the one already kept there if it failed: BullMQ
 * ignores an add under the id of a kept job, so an operator's retry that was asked before
 * its cause was fixed (its job gave up) would otherwise never run again. A waiting, delayed,
 * running or completed job under the id is left as it is.
 */
export async function addOrRerun(queue: Queue, name: string, data: unknown, jobId: string): Promise<void> {
  const job = await queue.getJob(jobId);
  if (job && (await job.isFailed())) {
    await job.retry("failed");
    return;
  }
  await queue.add(name, data, { jobId });
}

import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import type { Queue } from "bullmq";
import type { Logger } from "../log.js";
import { addDeadLetter } from "../queues/dead-letter.js";
import { malformedLetter } from "./dead-letter.js";
import { parseBody, type Envelope } from "./envelope.js";
import type { HandOff } from "./hand-off.js";
import type { RelayMetrics } from "./metrics.js";
import { keepInvisible } from "./visibility.js";

/** Test seams around the hand-off (a slow Redis, a crash between enqueue and delete). */
export interface RelayHooks {
  beforeHandOff?(queue: string, envelopes: Envelope[]): Promise<void>;
  afterHandOff?(queue: string, jobIds: string[]): Promise<void>;
}

export interface PollerOptions {
  sqs: SQSClient;
  /** "primary" or "dr": the label on metrics, logs, jobs and dead letters. */
  label: string;
  queueUrl: string;
  waitTimeSeconds: number;
  maxMessages: number;
  /**
   * How many received batches may be in hand at once. Above 1 the next ReceiveMessage runs
   * while earlier batches are handed off and deleted. Per-group order still holds: a FIFO
   * queue returns no message of a group while an earlier one of that group is in flight, and
   * a batch's messages stay in flight until its jobs are in Redis, so a group's later
   * messages are always claimed after its earlier ones.
   */
  batchesInHand: number;
  visibilityTimeoutSeconds: number;
  /** Shared by the relay's pollers, so a message's two copies are handed off once. */
  handOff: HandOff;
  deadLetters: Queue;
  /**
   * Resolves once the batch's writes (jobs, dead letters) reached the replicas asked for
   * (REDIS_MIN_REPLICA_ACKS), rejects otherwise; nothing is deleted until it resolves.
   */
  replicated?: () => Promise<void>;
  metrics: RelayMetrics;
  log: Logger;
  hooks?: RelayHooks;
}

export interface Poller {
  readonly label: string;
  /** Stop receiving, finish the batches in hand (enqueue, then delete), then resolve. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;
}

const SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "SentTimestamp", "MessageGroupId", "SequenceNumber"] as const;

/** One long-polling loop over one FIFO queue. Never deletes a message whose job is not in Redis. */
export function startPoller(o: PollerOptions): Poller {
  const log = o.log.child({ sqsQueue: o.label });
  const abort = new AbortController();
  let stopping = false;
  let wake: (() => void) | undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  const inHand = new Set<Promise<void>>();

  const loop = async () => {
    let backoffMs = 0;
    while (!stopping) {
      while (inHand.size >= Math.max(1, o.batchesInHand)) await Promise.race(inHand);
      if (stopping) break;
      let messages: Message[];
      try {
        const out = await o.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: o.queueUrl,
            MaxNumberOfMessages: o.maxMessages,
            WaitTimeSeconds: o.waitTimeSeconds,
            VisibilityTimeout: o.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: [...SYSTEM_ATTRIBUTES],
          }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
        backoffMs = 0;
      } catch (err) {
        // An aborted receive may have taken messages server-side; they were never seen here
        // and simply become visible again after their timeout.
        if (stopping) break;
        o.metrics.errors.inc({ queue: o.label, stage: "receive" });
        backoffMs = Math.min(Math.max(backoffMs * 2, 500), 10_000);
        log.error({ err: (err as Error).message, retryInMs: backoffMs }, "receive failed");
        await pause(backoffMs);
        continue;
      }
      if (messages.length === 0) {
        o.metrics.oldestAge.set({ queue: o.label }, 0);
        continue;
      }
      // Not awaited: the next receive goes out while this batch is handed off and deleted.
      const batch: Promise<void> = processBatch(messages)
        .catch((err: Error) => log.error({ err: err.message }, "batch failed unexpectedly; its messages stay in SQS"))
        .finally(() => inHand.delete(batch));
      inHand.add(batch);
    }
    // Stopping: the batches already received are finished, never dropped half-way.
    await Promise.all(inHand);
  };

  const processBatch = async (messages: Message[]) => {
    const receivedAt = new Date();
    o.metrics.received.inc({ queue: o.label }, messages.length);
    const sent = messages.map((m) => Number(m.Attributes?.SentTimestamp)).filter(Number.isFinite);
    if (sent.length > 0) o.metrics.oldestAge.set({ queue: o.label }, Math.max(0, (receivedAt.getTime() - Math.min(...sent)) / 1000));

    const pending = new Map(messages.map((m, i) => [String(i), { id: String(i), receiptHandle: m.ReceiptHandle!, message: m }]));
    const extender = keepInvisible(
      o.sqs,
      o.queueUrl,
      o.visibilityTimeoutSeconds,
      () => [...pending.values()],
      (n) => o.metrics.visibilityExtended.inc({ queue: o.label }, n),
      (err) => {
        o.metrics.errors.inc({ queue: o.label, stage: "extend" });
        log.warn({ err: err.message }, "could not extend visibility");
      },
    );
    try {
      const deletable: string[] = [];
      const valid: { key: string; envelope: Envelope }[] = [];
      for (const [key, { message }] of pending) {
        const parsed = parseBody(message.Body);
        if (parsed.ok) {
          valid.push({ key, envelope: parsed.envelope });
          continue;
        }
        try {
          await addDeadLetter(o.deadLetters, malformedLetter(message, o.label, o.queueUrl, parsed.reason));
          o.metrics.deadLettered.inc({ queue: o.label });
          // The body may carry personal data: log why, not what.
          log.warn({ sqsMessageId: message.MessageId, reason: parsed.reason }, "malformed message dead-lettered");
          deletable.push(key);
        } catch (err) {
          o.metrics.errors.inc({ queue: o.label, stage: "hand_off" });
          log.error({ sqsMessageId: message.MessageId, err: (err as Error).message }, "could not dead-letter a malformed message; it stays in SQS");
        }
      }
      if (valid.length > 0) {
        try {
          const envelopes = valid.map((v) => v.envelope);
          await o.hooks?.beforeHandOff?.(o.label, envelopes);
          const result = await o.handOff(envelopes, { queue: o.label, receivedAt });
          o.metrics.handOff.observe({ queue: o.label }, (Date.now() - receivedAt.getTime()) / 1000);
          if (result.duplicates > 0) o.metrics.duplicates.inc({ queue: o.label }, result.duplicates);
          log.debug({ jobs: result.jobIds.length, duplicates: result.duplicates }, "batch handed off");
          await o.hooks?.afterHandOff?.(o.label, result.jobIds);
          deletable.push(...valid.map((v) => v.key));
        } catch (err) {
          // Not in Redis, so not deleted: the messages reappear after their visibility timeout.
          o.metrics.errors.inc({ queue: o.label, stage: "hand_off" });
          log.error({ err: (err as Error).message, messages: valid.length }, "hand-off failed; messages stay in SQS");
        }
      }
      if (deletable.length > 0 && o.replicated) {
        try {
          await o.replicated();
        } catch (err) {
          // On the primary but not (yet) on enough replicas: a failover could lose them, so
          // keep the messages; they come back and are dropped as duplicates if the jobs survived.
          o.metrics.errors.inc({ queue: o.label, stage: "hand_off" });
          log.error({ err: (err as Error).message, messages: deletable.length }, "jobs not replicated; messages stay in SQS");
          return;
        }
      }
      await deleteMessages(
        deletable.map((k) => pending.get(k)!),
        (key) => pending.delete(key),
      );
    } finally {
      extender.stop();
    }
  };

  const deleteMessages = async (entries: { id: string; receiptHandle: string }[], onDeleted: (key: string) => void) => {
    if (entries.length === 0) return;
    try {
      const out = await o.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: o.queueUrl, Entries: entries.map((e) => ({ Id: e.id, ReceiptHandle: e.receiptHandle })) }),
      );
      for (const ok of out.Successful ?? []) onDeleted(ok.Id!);
      o.metrics.deleted.inc({ queue: o.label }, out.Successful?.length ?? 0);
      if (out.Failed?.length) {
        o.metrics.errors.inc({ queue: o.label, stage: "delete" }, out.Failed.length);
        log.warn({ failed: out.Failed.map((f) => f.Code) }, "some deletes failed; those messages will be redelivered and dropped as duplicates");
      }
    } catch (err) {
      o.metrics.errors.inc({ queue: o.label, stage: "delete" }, entries.length);
      log.warn({ err: (err as Error).message }, "delete failed; the messages will be redelivered and dropped as duplicates");
    }
  };

  const done = loop().catch((err: Error) => log.error({ err: err.message }, "poller stopped on an unexpected error"));
  log.info({ queueUrl: o.queueUrl }, "polling");
  return {
    label: o.label,
    done,
    stop: async () => {
      stopping = true;
      abort.abort();
      wake?.();
      await done;
    },
  };
}

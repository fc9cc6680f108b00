import { randomUUID } from "node:crypto";
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { EMULATOR_CREDENTIALS, type SqsEmulator } from "../../src/dev/sqs-emulator.js";

/** The real AWS SDK client pointed at the in-process emulator. */
export function emulatorClient(emulator: SqsEmulator): SQSClient {
  return new SQSClient({ region: "us-east-1", endpoint: emulator.endpoint, credentials: EMULATOR_CREDENTIALS });
}

export interface TestEnvelope {
  message_id: string;
  event_type: string;
  timestamp: string;
  payload: Record<string, unknown>;
  message_group_id: string;
}

let clock = Date.parse("2026-01-05T10:00:00.000Z");
/** Publish times that only go forward, like the broker's. */
export const nextTimestamp = () => {
  clock += 7;
  return new Date(clock).toISOString();
};

export function envelope(
  group: string,
  payload: Record<string, unknown>,
  eventType = "transfers.TransferEvent.v1",
  extra: Partial<TestEnvelope> = {},
): TestEnvelope {
  return { message_id: randomUUID(), event_type: eventType, timestamp: nextTimestamp(), payload, message_group_id: group, ...extra };
}

/** Send raw bodies (or envelopes) in order, as the broker would: group id on the SQS message too. */
export async function send(sqs: SQSClient, queueUrl: string, items: (TestEnvelope | { raw: string; group: string })[]): Promise<void> {
  for (let i = 0; i < items.length; i += 10) {
    const chunk = items.slice(i, i + 10);
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((item, j) => {
          const isRaw = "raw" in item;
          return {
            Id: String(j),
            MessageBody: isRaw ? item.raw : JSON.stringify(item),
            MessageGroupId: isRaw ? item.group : item.message_group_id,
            MessageDeduplicationId: isRaw ? randomUUID() : item.message_id,
          };
        }),
      }),
    );
    if (out.Failed?.length) throw new Error(`send failed: ${JSON.stringify(out.Failed)}`);
  }
}

/** A fresh pair of FIFO queues on the emulator, so tests in one file do not see each other's messages. */
export async function freshQueues(
  sqs: SQSClient,
  label: string,
  visibilityTimeoutSeconds = 30,
): Promise<{ primary: string; dr: string; names: { primary: string; dr: string } }> {
  const make = async (which: string) => {
    const name = `${label}-${which}-${randomUUID().slice(0, 8)}.fifo`;
    const out = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true", VisibilityTimeout: String(visibilityTimeoutSeconds) },
      }),
    );
    return { url: out.QueueUrl!, name };
  };
  const p = await make("primary");
  const d = await make("dr");
  return { primary: p.url, dr: d.url, names: { primary: p.name, dr: d.name } };
}

/** Messages still in a queue: ready, delayed or in flight (received, not deleted). */
export function remaining(emulator: SqsEmulator, queueName: string): { ready: number; inflight: number; bodies: string[] } {
  const q = emulator.server.inspectQueue(queueName);
  if (!q) throw new Error(`no queue ${queueName}`);
  const msgs = [...q.messages.ready, ...q.messages.delayed, ...q.messages.inflight.map((i) => i.message)];
  return {
    ready: q.messages.ready.length + q.messages.delayed.length,
    inflight: q.messages.inflight.length,
    bodies: msgs.map((m) => (m as { body: string }).body),
  };
}

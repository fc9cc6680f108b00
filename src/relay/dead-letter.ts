import type { Message } from "@aws-sdk/client-sqs";
import type { DeadLetter } from "../queues/dead-letter.js";
import { brokerEventsQueue } from "./job.js";

/**
 * A message that never became a job. The dead letter keeps the raw body and where it came
 * from so an operator can read it and have the broker re-send it. Its id is the SQS message
 * id, so recording the same delivery twice (a crash before the delete) keeps one letter.
 */
export function malformedLetter(message: Message, queueLabel: string, queueUrl: string, reason: string): DeadLetter {
  const now = Date.now();
  const sent = Number(message.Attributes?.SentTimestamp);
  const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? "1");
  return {
    kind: "message",
    queue: brokerEventsQueue.name,
    jobId: `sqs-${queueLabel}-${message.MessageId ?? "unknown"}`,
    name: "malformed-message",
    data: null,
    failedReason: reason,
    stacktrace: [],
    attemptsMade: receiveCount,
    createdAt: Number.isFinite(sent) ? sent : null,
    processedOn: now,
    finishedOn: now,
    deadLetteredAt: now,
    unrecoverable: true,
    source: {
      queue: queueLabel,
      queueUrl,
      sqsMessageId: message.MessageId ?? null,
      messageGroupId: message.Attributes?.MessageGroupId ?? null,
      receiveCount,
      body: message.Body ?? null,
    },
  };
}

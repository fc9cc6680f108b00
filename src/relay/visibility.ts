import { ChangeMessageVisibilityBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface Extender {
  /** Stop extending (the messages are deleted or deliberately left to time out). */
  stop(): void;
}

/**
 * While a batch is in hand, push its visibility out again every third of the timeout, so a
 * slow hand-off (Redis under load) never lets the message reappear and be handed off twice
 * in parallel. `pending()` is read each time so deleted messages drop out.
 */
export function keepInvisible(
  sqs: SQSClient,
  queueUrl: string,
  visibilityTimeoutSeconds: number,
  pending: () => { id: string; receiptHandle: string }[],
  onExtended: (n: number) => void,
  onError: (err: Error) => void,
): Extender {
  const everyMs = Math.max(200, Math.floor((visibilityTimeoutSeconds * 1000) / 3));
  const timer = setInterval(() => {
    const entries = pending();
    if (entries.length === 0) return;
    sqs
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.map((e) => ({ Id: e.id, ReceiptHandle: e.receiptHandle, VisibilityTimeout: visibilityTimeoutSeconds })),
        }),
      )
      .then(
        (out) => {
          onExtended(out.Successful?.length ?? 0);
          if (out.Failed?.length) onError(new Error(`visibility not extended for ${out.Failed.length} message(s): ${out.Failed[0]!.Code}`));
        },
        (err: Error) => onError(err),
      );
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

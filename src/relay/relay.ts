import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Queue } from "bullmq";
import type { Logger } from "../log.js";
import type { RelayMetrics } from "./metrics.js";
import { startPoller, type Poller, type RelayHooks } from "./poller.js";
import type { Sequencer } from "./sequencer.js";

export interface RelayOptions {
  sqs: SQSClient;
  /** Label → queue URL, e.g. { primary, dr }. Both are consumed at all times, as the broker asks. */
  queueUrls: Record<string, string>;
  waitTimeSeconds: number;
  maxMessages: number;
  /** Batches one queue's loop holds at once (receive ahead while handing off). */
  batchesInHand: number;
  visibilityTimeoutSeconds: number;
  jobs: Queue;
  deadLetters: Queue;
  sequencer: Sequencer;
  metrics: RelayMetrics;
  log: Logger;
  hooks?: RelayHooks;
}

export interface Relay {
  pollers: Poller[];
  stop(): Promise<void>;
}

/** The broker relay: one long-polling loop per queue, sharing the hand-off to BullMQ. */
export function startRelay(o: RelayOptions): Relay {
  const entries = Object.entries(o.queueUrls);
  if (entries.length === 0) throw new Error("the relay needs at least one SQS queue URL");
  const pollers = entries.map(([label, queueUrl]) => startPoller({ ...o, label, queueUrl }));
  return {
    pollers,
    stop: async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    },
  };
}

import { startPoller, type Poller, type PollerOptions } from "./poller.js";

/** One poller's options, but for every queue: the relay starts a poller per queue URL. */
export interface RelayOptions extends Omit<PollerOptions, "label" | "queueUrl"> {
  /** Label → queue URL, e.g. { primary, dr }. Both are consumed at all times, as the broker asks. */
  queueUrls: Record<string, string>;
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

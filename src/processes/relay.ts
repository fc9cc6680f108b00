import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Config } from "../config/index.js";
import { onShutdown } from "../lifecycle/shutdown.js";
import { closeServer, serveMetrics } from "../metrics-server.js";
import { brokerEventsQueue } from "../relay/job.js";
import { createHandOff } from "../relay/hand-off.js";
import { relayMetrics } from "../relay/metrics.js";
import type { RelayHooks } from "../relay/poller.js";
import { startRelay, type Relay } from "../relay/relay.js";
import { createSequencer } from "../relay/sequencer.js";
import { awaitReplicas } from "../redis/replica-acks.js";
import { createSqsClient, relayQueueUrls } from "../relay/sqs-client.js";
import { buildClients, closeClients, type Clients } from "./clients.js";

export interface RelaySideOptions {
  /** Defaults to BAKKT_SQS_PRIMARY_URL / BAKKT_SQS_DR_URL. */
  queueUrls?: Record<string, string>;
  /** Defaults to a client built from AWS_REGION / AWS_ENDPOINT_URL_SQS and the SDK's credential chain. */
  sqs?: SQSClient;
  hooks?: RelayHooks;
}

export class RelayConfigError extends Error {
  override name = "RelayConfigError";
}

/** Start the relay on already-built clients (used by the relay and dev processes). */
export function startRelaySide(c: Clients, opts: RelaySideOptions = {}): { relay: Relay; stop: () => Promise<void> } {
  const queueUrls = opts.queueUrls ?? relayQueueUrls(c.config);
  if (Object.keys(queueUrls).length === 0) {
    throw new RelayConfigError("no SQS queue configured: set BAKKT_SQS_PRIMARY_URL and BAKKT_SQS_DR_URL");
  }
  if (Object.keys(queueUrls).length === 1) {
    c.log.warn({ queues: Object.keys(queueUrls) }, "consuming one queue only; the broker asks clients to consume both primary and DR at all times");
  }
  const sqs = opts.sqs ?? createSqsClient(c.config);
  const relay = startRelay({
    sqs,
    queueUrls,
    waitTimeSeconds: c.config.RELAY_WAIT_TIME_SECONDS,
    maxMessages: c.config.RELAY_MAX_MESSAGES,
    batchesInHand: c.config.RELAY_BATCHES_IN_HAND,
    visibilityTimeoutSeconds: c.config.RELAY_VISIBILITY_TIMEOUT_SECONDS,
    handOff: createHandOff(c.queues.queue(brokerEventsQueue.name), createSequencer(c.redis, c.queues.prefixOf(brokerEventsQueue.name))),
    deadLetters: c.queues.deadLetters(brokerEventsQueue.name),
    // The hand-off (jobs, sequencing keys, dead letters) writes only to the broker-events
    // queue's keys, one node's (one hash slot on a cluster): WAIT there covers all of it.
    replicated: () =>
      awaitReplicas(c.queues.nodeOf(brokerEventsQueue.name), { replicas: c.config.REDIS_MIN_REPLICA_ACKS, timeoutMs: c.config.REDIS_REPLICA_ACK_TIMEOUT_MS }),
    metrics: relayMetrics(c.metrics.registry),
    log: c.log,
    hooks: opts.hooks,
  });
  c.log.info({ queues: Object.keys(queueUrls) }, "relay started");
  return {
    relay,
    stop: async () => {
      await relay.stop();
      if (!opts.sqs) sqs.destroy();
    },
  };
}

export async function runRelayProcess(config: Config, opts: RelaySideOptions = {}): Promise<void> {
  const c = await buildClients(config, "producer", "relay");
  let side: ReturnType<typeof startRelaySide>;
  try {
    side = startRelaySide(c, opts);
  } catch (err) {
    await closeClients(c);
    throw err;
  }
  const metricsServer = config.METRICS_PORT !== undefined ? await serveMetrics(c.metrics.registry, config.METRICS_PORT) : undefined;
  onShutdown(c.log, async () => {
    // Stop receiving and finish the batch in hand before the Redis connection goes away.
    await side.stop();
    await closeServer(metricsServer);
    await closeClients(c);
  });
}

// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import type { FauxqsServer } from "fauxqs";

export interface SqsEmulator {
  /** Give this to the SQS client as its `endpoint`. */
  endpoint: string;
  primaryUrl: string;
  drUrl: string;
  server: FauxqsServer;
  stop(): Promise<void>;
}

export const EMULATOR_CREDENTIALS = { accessKeyId: "fauxqs", secretAccessKey: "fauxqs" } as const;

/**
 * The SQS emulator (fauxqs) in this process, with a primary and a DR FIFO queue, for dev
 * mode, tests and the benchmark. Loaded lazily: production never imports it.
 */
export async function startSqsEmulator(
  opts: { port?: number; region?: string; visibilityTimeoutSeconds?: number; prefix?: string } = {},
): Promise<SqsEmulator> {
  const { startFauxqs } = await import("fauxqs");
  const region = opts.region ?? "us-east-1";
  const server = await startFauxqs({ port: opts.port ?? 0, logger: false, defaultRegion: region });
  const attributes = {
    FifoQueue: "true",
    // The broker sets a deduplication id per message; content-based keeps test sends simple.
    ContentBasedDeduplication: "true",
    VisibilityTimeout: String(opts.visibilityTimeoutSeconds ?? 30),
  };
  const prefix = opts.prefix ?? "hookrail";
  const primary = server.createQueue(`${prefix}-primary-events.fifo`, { region, attributes });
  const dr = server.createQueue(`${prefix}-dr-events.fifo`, { region, attributes });
  return { endpoint: server.address, primaryUrl: primary.queueUrl, drUrl: dr.queueUrl, server, stop: () => server.stop() };
}

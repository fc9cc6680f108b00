import { SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";
import type { Config } from "../config/index.js";

/**
 * Credentials come from the SDK's default chain unless given (dev mode and tests pass
 * dummy ones for the emulator). An endpoint, when set, is used for every call; the SDK
 * then does not route by the queue URL's host.
 */
export function createSqsClient(config: Pick<Config, "AWS_REGION" | "AWS_ENDPOINT_URL_SQS">, extra: Pick<SQSClientConfig, "credentials"> = {}): SQSClient {
  return new SQSClient({
    region: config.AWS_REGION,
    ...(config.AWS_ENDPOINT_URL_SQS ? { endpoint: config.AWS_ENDPOINT_URL_SQS } : {}),
    ...extra,
  });
}

/** The queues the relay consumes, by label. */
export function relayQueueUrls(config: Pick<Config, "BAKKT_SQS_PRIMARY_URL" | "BAKKT_SQS_DR_URL">): Record<string, string> {
  return {
    ...(config.BAKKT_SQS_PRIMARY_URL ? { primary: config.BAKKT_SQS_PRIMARY_URL } : {}),
    ...(config.BAKKT_SQS_DR_URL ? { dr: config.BAKKT_SQS_DR_URL } : {}),
  };
}

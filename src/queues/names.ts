/** Every queue hookrail runs. Each has a dead-letter queue named `<name>-dlq`. */
export const QUEUE_NAMES = [
  "payments",
  "bakkt-webhooks",
  "kyc-sumsub",
  "custody-fireblocks",
  "mints",
  "broker-events",
  "aml-rescreen",
  "aml-screening",
  "dividends",
] as const;

export type QueueName = (typeof QUEUE_NAMES)[number];

export const deadLetterName = (queue: QueueName) => `${queue}-dlq` as const;

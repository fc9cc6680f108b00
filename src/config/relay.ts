import { z } from "zod";
import { intInRange, optionalUrl as url, stringWithDefault } from "./env.js";

const optionalUrl = (example: string) => url(["https", "http"], example);

/**
 * Settings of the broker SQS relay. Credentials are not here on purpose: the AWS SDK reads
 * them from its normal chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web
 * identity, instance role).
 */
export const relaySchema = z.object({
  BAKKT_SQS_PRIMARY_URL: optionalUrl("https://sqs.us-east-2.amazonaws.com/123456789012/uat-corr-events.fifo"),
  BAKKT_SQS_DR_URL: optionalUrl("https://sqs.us-west-2.amazonaws.com/123456789012/uat-corr-events.fifo"),
  AWS_REGION: stringWithDefault("us-east-1").pipe(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, { error: "expected an AWS region like us-east-2" })),
  /** Given to the SQS client as its `endpoint` (an emulator, a VPC endpoint). */
  AWS_ENDPOINT_URL_SQS: optionalUrl("http://127.0.0.1:4566"),
  RELAY_WAIT_TIME_SECONDS: intInRange(0, 20, 20),
  RELAY_MAX_MESSAGES: intInRange(1, 10, 10),
  /**
   * Batches each queue's loop holds at once: with 2, the next ReceiveMessage is already out
   * while the previous batch is handed off and deleted. FIFO keeps this ordered: SQS never
   * returns a message of a group while an earlier one of that group is in flight.
   */
  RELAY_BATCHES_IN_HAND: intInRange(1, 10, 2),
  /** Visibility asked for on receive, and re-applied while a slow hand-off is still running. */
  RELAY_VISIBILITY_TIMEOUT_SECONDS: intInRange(1, 43_200, 60),
});

// The emulator's own rate: receive (10 at a time, long poll) + DeleteMessageBatch on each
// queue URL given, until every queue has answered empty twice in a row. Prints JSON.
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";

const [endpoint, ...urls] = process.argv.slice(2);
const sqs = new SQSClient({ region: "us-east-1", endpoint, credentials: { accessKeyId: "fauxqs", secretAccessKey: "fauxqs" } });
const started = performance.now();
let messages = 0;
await Promise.all(
  urls.map(async (QueueUrl) => {
    let empty = 0;
    while (empty < 2) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }));
      const got = out.Messages ?? [];
      if (got.length === 0) {
        empty++;
        continue;
      }
      empty = 0;
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: got.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
      messages += got.length;
      last = performance.now();
    }
  }),
);
var last;
process.stdout.write(
  `${JSON.stringify({
    messages,
    seconds: ((last ?? performance.now()) - started) / 1000,
    cpuSeconds: +((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(2),
  })}\n`,
);
sqs.destroy();

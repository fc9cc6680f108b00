// The worker-tier half of the "ingress" design (enqueuers.mjs): reads the ingress stream with
// a consumer group, adds each batch to BullMQ with addBulk (same job ids, so a batch re-read
// after a crash adds nothing twice), then acknowledges and deletes the entries.
//   node pump.mjs <redisUrl> <queueName>
const dist = process.env.BENCH_DIST ?? new URL("../../dist", import.meta.url).pathname;
const { QUEUE_MODULES } = await import(`${dist}/src/processes/queue-modules.js`);
const { createQueueSet } = await import(`${dist}/src/queues/queue-set.js`);
const { createRedis, waitReady } = await import(`${dist}/src/redis/connection.js`);
const { ingressStream } = await import("./enqueuers.mjs");

const [redisUrl, queueName] = process.argv.slice(2);
const producer = createRedis(redisUrl, "producer");
const reader = createRedis(redisUrl, "worker");
await Promise.all([waitReady(producer), waitReady(reader)]);
const queue = createQueueSet(producer, "bench", QUEUE_MODULES).queue(queueName);
const stream = ingressStream(queueName);
// A fresh stream: entries an earlier mode ("full-ingress", no pump) left are not this run's.
await producer.del(stream);
await reader.xgroup("CREATE", stream, "pump", "0", "MKSTREAM");
let stopping = false;
process.on("message", (m) => {
  if (m === "stop") stopping = true;
});
process.send?.({ ready: true });
while (!stopping) {
  const got = await reader.xreadgroup("GROUP", "pump", "c1", "COUNT", 500, "BLOCK", 200, "STREAMS", stream, ">");
  const entries = got?.[0]?.[1] ?? [];
  if (entries.length === 0) continue;
  const jobs = entries.map(([, f]) => ({ name: f[1], data: JSON.parse(f[5]), opts: { jobId: f[3] } }));
  await queue.addBulk(jobs);
  const ids = entries.map(([id]) => id);
  await producer
    .multi()
    .xack(stream, "pump", ...ids)
    .xdel(stream, ...ids)
    .exec();
}
await queue.close();
producer.disconnect();
reader.disconnect();
process.exit(0);

// Alternatives to the receiver's enqueue (addOnce: EXISTS + BullMQ add), handed to the real
// receiver through its `enqueue` option so that everything else on the path stays the same.
// Sizing only: none of these is how hookrail enqueues.
//   "setnx":   one SET NX PX of the job under its id (the duplicate answer from the SET's
//              reply). Nothing a worker can consume: the cheapest Redis write that still
//              stores the job and tells a duplicate, i.e. the floor of any enqueue design.
//   "noop":    no Redis at all, every event "new": what the checks around the enqueue cost.
//   "ingress": one script: SET NX PX of the job id, and if new an XADD of the job to the
//              queue's ingress stream, from which a pump (pump.mjs, in the worker tier) moves
//              jobs into BullMQ with addBulk. A real design: durable at the answer, one command.
//   "ingress-batch": the same script over every job of one event-loop turn: the requests
//              parsed in a turn share one EVALSHA (one command to build, send and answer for
//              all of them), each still answered only once its job is in the stream.
const dist = process.env.BENCH_DIST ?? new URL("../../dist", import.meta.url).pathname;
const { withTimeout } = await import(`${dist}/src/with-timeout.js`);

const WEEK_MS = 7 * 24 * 3600 * 1000;
export const ingressStream = (queueName) => `bench:{${queueName}}:ingress`;
const seenKey = (queueName, jobId) => `bench:{${queueName}}:seen:${jobId}`;

const INGRESS = `
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[3], 'NX') then
  redis.call('XADD', KEYS[2], '*', 'n', ARGV[4], 'id', ARGV[1], 'd', ARGV[2])
  return 1
end
return 0`;

const INGRESS_BATCH = `
local out = {}
for i = 2, #KEYS do
  local a = (i - 2) * 3
  if redis.call('SET', KEYS[i], '1', 'PX', ARGV[1], 'NX') then
    redis.call('XADD', KEYS[1], '*', 'n', ARGV[a + 4], 'id', ARGV[a + 2], 'd', ARGV[a + 3])
    out[i - 1] = 1
  else
    out[i - 1] = 0
  end
end
return out`;

const within = (p, ms) => withTimeout(p, ms, () => new Error(`Redis did not answer within ${ms} ms`));

export function enqueuer(kind, redis) {
  if (kind === "noop") return async (_queue, _name, _data, jobId) => ({ jobId, duplicate: false });
  if (kind === "setnx")
    return async (queue, _name, data, jobId, timeoutMs) => {
      const r = await within(redis.set(seenKey(queue.name, jobId), JSON.stringify(data), "PX", WEEK_MS, "NX"), timeoutMs);
      return { jobId, duplicate: r === null };
    };
  if (kind === "ingress") {
    redis.defineCommand("benchIngress", { numberOfKeys: 2, lua: INGRESS });
    return async (queue, name, data, jobId, timeoutMs) => {
      const r = await within(redis.benchIngress(seenKey(queue.name, jobId), ingressStream(queue.name), jobId, JSON.stringify(data), WEEK_MS, name), timeoutMs);
      return { jobId, duplicate: r === 0 };
    };
  }
  if (kind === "ingress-batch") {
    redis.defineCommand("benchIngressBatch", { lua: INGRESS_BATCH });
    let turn = null;
    const flush = () => {
      const { keys, args, waiters } = turn;
      turn = null;
      redis.benchIngressBatch(keys.length, ...keys, ...args).then(
        (r) => {
          for (const [i, w] of waiters.entries()) w.resolve(r[i]);
        },
        (err) => {
          for (const w of waiters) w.reject(err);
        },
      );
    };
    return async (queue, name, data, jobId, timeoutMs) => {
      if (turn === null) {
        turn = { keys: [ingressStream(queue.name)], args: [WEEK_MS], waiters: [] };
        setImmediate(flush);
      }
      // One queue per batch (the bench's one route); a real one would batch per queue.
      const r = new Promise((resolve, reject) => turn.waiters.push({ resolve, reject }));
      turn.keys.push(seenKey(queue.name, jobId));
      turn.args.push(jobId, JSON.stringify(data), name);
      return { jobId, duplicate: (await within(r, timeoutMs)) === 0 };
    };
  }
  throw new Error(`no enqueuer "${kind}"`);
}

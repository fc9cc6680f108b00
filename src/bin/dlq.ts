import { loadProcessConfig } from "../processes/config.js";
import { listDeadLetters, purgeDeadLetters, replayDeadLetters } from "../queues/dead-letter.js";
import { QUEUE_MODULES, QUEUE_NAMES } from "../processes/queue-modules.js";
import { createQueueSet } from "../queues/queue-set.js";
import { connectRedis, redisTarget, waitReady } from "../redis/connection.js";

const USAGE = `usage: npm run dlq -- <command> <queue> [options]
  list <queue>                     show dead letters (JSON, one per line)
  replay <queue> --id ID [--id ID] put these back on <queue> under their original ids; ID is the
                                   dead letter's id as the dashboard and list show it (the
                                   failed job's id works too)
  replay <queue> --all             put every dead letter back
  purge <queue>                    delete every dead letter of <queue>
queues: ${QUEUE_NAMES.join(", ")}`;

function fail(message: string): never {
  process.stderr.write(`dlq: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const [command, queueArg, ...rest] = argv;
  if (!command || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!["list", "replay", "purge"].includes(command)) fail(`unknown command "${command}"`);
  if (!queueArg) fail("missing <queue>");
  if (!(QUEUE_NAMES as readonly string[]).includes(queueArg)) fail(`unknown queue "${queueArg}"`);
  const queue = queueArg;

  const config = loadProcessConfig();
  const redis = connectRedis(redisTarget(config), "producer");
  redis.on("error", () => {});
  const queues = createQueueSet(redis, config.QUEUE_PREFIX, QUEUE_MODULES);
  try {
    await waitReady(redis, 5_000);
    if (command === "list") {
      for (const letter of await listDeadLetters(queues.deadLetters(queue))) process.stdout.write(`${JSON.stringify(letter)}\n`);
    } else if (command === "purge") {
      const n = await purgeDeadLetters(queues.deadLetters(queue));
      process.stdout.write(`purged ${n} dead letter(s) from ${queue}\n`);
    } else {
      const ids: string[] = [];
      let all = false;
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === "--all") all = true;
        else if (rest[i] === "--id" && rest[i + 1]) ids.push(rest[++i]!);
        else fail(`unexpected argument "${rest[i]}"`);
      }
      if (all === ids.length > 0) fail("replay needs either --all or one or more --id ID");
      const result = await replayDeadLetters(queues.queue(queue), queues.deadLetters(queue), all ? "all" : ids);
      process.stdout.write(`${JSON.stringify(result)}\n`);
      if (result.skipped.length > 0 && result.replayed.length === 0) process.exitCode = 1;
    }
  } finally {
    await queues.close();
    redis.disconnect();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`dlq: ${(err as Error).message}\n`);
  process.exit(1);
});

import { loadConfig, type Config } from "../config/index.js";
import { QUEUE_NAMES } from "./queue-modules.js";

/** The configuration every process runs on: the environment, with WORKER_QUEUES checked against the queue list. */
export const loadProcessConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(env, { queueNames: QUEUE_NAMES });

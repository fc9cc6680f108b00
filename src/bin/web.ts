import { loadProcessConfig } from "../processes/config.js";
import { exitOnStartupError } from "../lifecycle/shutdown.js";
import { runWebProcess } from "../processes/web-cluster.js";

try {
  // WEB_CONCURRENCY > 1 runs this file again in each cluster worker (see web-cluster.ts).
  await runWebProcess(loadProcessConfig());
} catch (err) {
  exitOnStartupError(err);
}

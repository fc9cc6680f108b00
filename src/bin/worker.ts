import { loadConfig } from "../config/index.js";
import { exitOnStartupError } from "../lifecycle/shutdown.js";
import { runWorkerProcess } from "../processes/worker.js";

try {
  await runWorkerProcess(loadConfig());
} catch (err) {
  exitOnStartupError(err);
}

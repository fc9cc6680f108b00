import { loadProcessConfig } from "../processes/config.js";
import { exitOnStartupError } from "../lifecycle/shutdown.js";
import { runWorkerProcess } from "../processes/worker.js";

try {
  await runWorkerProcess(loadProcessConfig());
} catch (err) {
  exitOnStartupError(err);
}

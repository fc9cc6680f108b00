import { loadConfig } from "../config/index.js";
import { exitOnStartupError } from "../lifecycle/shutdown.js";
import { runRelayProcess } from "../processes/relay.js";

try {
  await runRelayProcess(loadConfig());
} catch (err) {
  exitOnStartupError(err);
}

import { loadProcessConfig } from "../processes/config.js";
import { exitOnStartupError } from "../lifecycle/shutdown.js";
import { runRelayProcess } from "../processes/relay.js";

try {
  await runRelayProcess(loadProcessConfig());
} catch (err) {
  exitOnStartupError(err);
}

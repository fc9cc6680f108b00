import { loadConfig } from "../config/index.js";
import { exitOnStartupError, onShutdown } from "../lifecycle/shutdown.js";
import { buildClients, closeClients } from "../processes/clients.js";

// The SQS relay arrives with its own issue; until then the process starts, checks its
// dependencies, and idles so the Procfile's relay line is valid.
try {
  const c = await buildClients(loadConfig(), "producer", "relay");
  c.log.info("relay has no SQS queues configured yet; idling");
  const keepAlive = setInterval(() => {}, 60_000);
  onShutdown(c.log, async () => {
    clearInterval(keepAlive);
    await closeClients(c);
  });
} catch (err) {
  exitOnStartupError(err);
}

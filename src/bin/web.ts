import { loadProcessConfig } from "../processes/config.js";
import { exitOnStartupError, onShutdown } from "../lifecycle/shutdown.js";
import { buildClients, closeClients } from "../processes/clients.js";
import { startWebSide } from "../processes/web.js";

try {
  const config = loadProcessConfig();
  const c = await buildClients(config, "producer", "web");
  const web = await startWebSide(c);
  onShutdown(c.log, async () => {
    await web.stop();
    await closeClients(c);
  });
} catch (err) {
  exitOnStartupError(err);
}

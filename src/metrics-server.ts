import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

/**
 * Worker and relay processes have no web server; with METRICS_PORT set they serve their own
 * registry at /metrics so Prometheus can scrape every process, not only `web`.
 */
export function serveMetrics(registry: Registry, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve) => server.listen(port, "0.0.0.0", () => resolve(server)));
}

export const closeServer = (server: Server | undefined) => new Promise<void>((r) => (server ? server.close(() => r()) : r()));

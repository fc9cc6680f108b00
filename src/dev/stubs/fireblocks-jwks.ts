// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { createPublicKey, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, type JWK } from "jose";

/** A local stand-in for Fireblocks' JWKS endpoint (same path and document shape), whose keys can be rotated. */
export class JwksStub {
  private keys: JWK[] = [];
  fetches = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<JwksStub> {
    let stub: JwksStub | undefined;
    const server = createServer((req, res) => {
      stub!.fetches++;
      if (req.url !== "/.well-known/jwks.json") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=3600" });
      res.end(JSON.stringify({ keys: stub!.keys }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    stub = new JwksStub(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
    return stub;
  }

  async publish(kid: string, privateKey: KeyObject): Promise<void> {
    const jwk = await exportJWK(createPublicKey(privateKey));
    this.keys.push({ ...jwk, kid, use: "sig", alg: "RS512" });
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

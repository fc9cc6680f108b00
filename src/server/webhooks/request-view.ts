import type { IncomingMessage } from "node:http";
import type { Context } from "hono";

/** What the receive pipeline needs from a request, read as cheaply as the server allows. */
export interface RequestView {
  header(name: string): string | undefined;
  peerAddress: string | undefined;
  /** The raw body, or "too_large" as soon as it passes `maxBytes` (the rest is not read). */
  readBody(maxBytes: number): Promise<Buffer | "too_large">;
}

/**
 * On @hono/node-server the Node request is at `c.env.incoming`: reading its headers and body
 * directly skips building a WHATWG Request and stream per request, which is most of the cost
 * of a small webhook. Anywhere else (app.request() in tests) the standard Request is used.
 */
export function requestView(c: Context): RequestView {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) {
    return {
      header: (name) => {
        const v = incoming.headers[name];
        return Array.isArray(v) ? v.join(", ") : v;
      },
      peerAddress: incoming.socket?.remoteAddress,
      readBody: (max) => readNodeBody(incoming, max),
    };
  }
  return {
    header: (name) => c.req.header(name) ?? undefined,
    peerAddress: undefined,
    readBody: (max) => readWebBody(c.req.raw, max),
  };
}

function readNodeBody(incoming: IncomingMessage, max: number): Promise<Buffer | "too_large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        resolve("too_large");
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error("request closed before its body was complete"));
    };
    const cleanup = () => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("close", onClose);
    };
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("close", onClose);
  });
}

async function readWebBody(req: Request, max: number): Promise<Buffer | "too_large"> {
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return "too_large";
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

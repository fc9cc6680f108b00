import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * JSON lines on stdout. The redact list is a second line of defence: code must not log
 * secrets in the first place, but a header object logged by mistake is scrubbed.
 */
export function createLogger(
  level: string,
  bindings: Record<string, unknown> = {},
  // Asynchronous writes keep a log line off the request's critical path; pino flushes what
  // is buffered when the process exits. Tests pass a stream of their own to read the lines.
  destination: DestinationStream = pino.destination({ dest: 1, sync: false }),
): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "*.authorization",
          "*.Authorization",
          "*.password",
          "*.secret",
          "*.secrets",
          "headers.*",
          "*.webhook-signature",
          "*.x-payload-digest",
          "*.fireblocks-signature",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

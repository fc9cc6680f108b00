import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { Logger } from "../log.js";
import type { Actor } from "./auth/identity.js";

/** One operator action or admin API write. */
export interface AuditEntry {
  actor: Actor;
  /** Dotted verb, e.g. `dead_letter.replay`, `board.job.retry`, `api.orders.create`. */
  action: string;
  /** What it acted on, e.g. `payments/ref-1` or `orders/ref-1`. */
  target?: string;
  ip?: string;
  /** `ok`, `refused`, `error`, or an HTTP status (`http 409`). */
  result: string;
  /** Small, non-secret facts (counts, ids, the reason given). */
  detail?: Record<string, unknown>;
}

/**
 * The audit trail: one JSON log line (`"audit": {...}`) and one `audit_events` row per entry.
 * The log line is written first, so an entry survives a database outage in the logs.
 */
export class AuditLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
  ) {}

  async record(e: AuditEntry): Promise<void> {
    const row = {
      actor: e.actor.name,
      actor_kind: e.actor.kind,
      role: e.actor.role ?? null,
      action: e.action,
      target: e.target ?? null,
      ip: e.ip ?? null,
      result: e.result,
      detail: e.detail ? JSON.stringify(e.detail) : null,
    };
    this.log.info({ audit: { ...row, detail: e.detail } }, "audit");
    try {
      await this.db.insertInto("audit_events").values(row).execute();
    } catch (err) {
      this.log.error({ err: (err as Error).message, action: e.action }, "audit row not written");
    }
  }
}

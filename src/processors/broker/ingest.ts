import { sql, type Kysely } from "kysely";
import type { BrokerEventOutcome, Database } from "../../db/schema.js";
import type { EventType } from "../../relay/envelope.js";
import type { BrokerEventJob } from "../../relay/job.js";
import { entityIdFrom, entityKindFor, statusFrom } from "./entities.js";

export interface AppliedEvent {
  messageId: string;
  eventType: string;
  outcome: BrokerEventOutcome;
  receivedAt: Date;
}

export interface IngestResult {
  /** False when the message_id was stored before (a redelivery or a retried job). */
  stored: boolean;
  applied: AppliedEvent[];
}

/** Events applied per transaction while draining a group; a long backlog commits in steps. */
const DRAIN_STEP = 100;

/** What `broker_ingest` / `broker_drain` return (db/migrations/0004_broker_ingest.ts). */
interface DrainJson {
  applied: [string, string, BrokerEventOutcome, string][];
  more: boolean;
  stored?: boolean;
}

/** Which entity an event is about, worked out from the event alone, so it is stored with it. */
export function entityOf(type: EventType, publishedAtRaw: string, payload: Record<string, unknown>) {
  const kind = entityKindFor(type.domain) ?? null;
  const id = kind ? (entityIdFrom(kind, payload) ?? null) : null;
  return {
    kind,
    id,
    status: id ? statusFrom(payload) : null,
    // Versions of one logical event share domain, schema, entity and publish time.
    logicalKey: kind && id ? [kind, id, type.domain.toLowerCase(), type.schema.toLowerCase(), publishedAtRaw].join("|") : null,
  };
}

const toApplied = (out: DrainJson): AppliedEvent[] =>
  out.applied.map(([messageId, eventType, outcome, receivedAt]) => ({ messageId, eventType, outcome, receivedAt: new Date(receivedAt) }));

/**
 * Store an event (once per message_id) and apply every stored event of its group whose turn
 * has come, in sequence order, stopping at the first gap (an event numbered but not stored
 * yet: its own job drains the group when it lands). One statement, one transaction: the
 * group's row is locked for its duration, so two workers never apply one group at once. The
 * lock is blocking on purpose: with SKIP LOCKED, the event that fills a gap could be
 * committed just after the holder looked for it, and then nobody would apply it. Storing in
 * the same transaction keeps that true: an event is always visible to its own drain.
 */
export async function ingestEvent(db: Kysely<Database>, data: BrokerEventJob): Promise<IngestResult> {
  const { type, publishedAt } = data;
  const entity = entityOf(type, data.timestamp, data.payload);
  const { rows } = await sql<{ out: DrainJson }>`select broker_ingest(
      ${data.messageId}, ${data.messageGroupId}, ${data.sequence}, ${data.eventType}, ${type.domain}, ${type.schema},
      ${type.version}, ${publishedAt}, ${data.timestamp}, ${JSON.stringify(data.payload)}::jsonb, ${data.sourceQueue},
      ${data.receivedAt}::timestamptz, ${entity.kind}, ${entity.id}, ${entity.status}, ${entity.logicalKey}, ${DRAIN_STEP}::int) as out`.execute(db);
  const first = rows[0]!.out;
  const applied = toApplied(first);
  // A backlog longer than one step (a long gap just filled) commits in steps.
  for (let more = first.more; more; ) {
    const { rows: next } = await sql<{ out: DrainJson }>`select broker_drain(${data.messageGroupId}, ${DRAIN_STEP}::int) as out`.execute(db);
    applied.push(...toApplied(next[0]!.out));
    more = next[0]!.out.more;
  }
  return { stored: first.stored === true, applied };
}

import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import type { BrokerEventOutcome, BrokerEventsTable, Database } from "../db/schema.js";
import { entityIdFrom, entityKindFor, statusFrom } from "./broker-entities.js";

type StoredEvent = Selectable<BrokerEventsTable>;

export interface AppliedEvent {
  messageId: string;
  eventType: string;
  outcome: BrokerEventOutcome;
  receivedAt: Date;
}

/** Events applied per transaction while draining a group; a long backlog commits in steps. */
const DRAIN_STEP = 100;

/**
 * Apply every stored event of a group whose turn has come, in sequence order, and stop at
 * the first gap (an event numbered but not stored yet: its own job will drain the group
 * when it lands). The group's row is locked for the duration, so two workers never apply
 * the same group at once; the lock is blocking on purpose (SKIP LOCKED could let the event
 * that fills a gap be committed just after the holder looked for it, and then nobody would
 * apply it).
 */
export async function drainGroup(db: Kysely<Database>, groupId: string): Promise<AppliedEvent[]> {
  const applied: AppliedEvent[] = [];
  for (;;) {
    const step = await db.transaction().execute(async (trx) => {
      const group = await trx
        .selectFrom("broker_groups")
        .select("next_sequence")
        .where("message_group_id", "=", groupId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      let next = BigInt(group.next_sequence);
      const waiting = await trx
        .selectFrom("broker_events")
        .selectAll()
        .where("message_group_id", "=", groupId)
        .where("sequence", ">=", next.toString())
        .orderBy("sequence")
        .limit(DRAIN_STEP)
        .execute();
      const done: AppliedEvent[] = [];
      for (const ev of waiting) {
        if (BigInt(ev.sequence) !== next) break;
        done.push({ messageId: ev.message_id, eventType: ev.event_type, outcome: await applyEvent(trx, ev), receivedAt: new Date(ev.received_at) });
        next += 1n;
      }
      if (done.length > 0) {
        await trx
          .updateTable("broker_groups")
          .set({ next_sequence: next.toString(), applied_count: sql`applied_count + ${done.length}`, updated_at: sql`now()` })
          .where("message_group_id", "=", groupId)
          .execute();
      }
      return { done, full: waiting.length === DRAIN_STEP && done.length === DRAIN_STEP };
    });
    applied.push(...step.done);
    if (!step.full) return applied;
  }
}

/** One event's effect on entity state, inside the group's transaction. Never throws for content. */
async function applyEvent(trx: Transaction<Database>, ev: StoredEvent): Promise<BrokerEventOutcome> {
  const mark = (outcome: BrokerEventOutcome, extra: { entity_kind?: string; entity_id?: string; logical_key?: string; duplicate_of?: string } = {}) =>
    trx
      .updateTable("broker_events")
      .set({ outcome, applied_at: sql`now()`, applied_rank: sql`nextval('broker_apply_rank')`, ...extra })
      .where("message_id", "=", ev.message_id)
      .execute()
      .then(() => outcome);

  const kind = entityKindFor(ev.event_domain);
  if (!kind) return mark("unknown_type");
  const payload = ev.payload as Record<string, unknown>;
  const entityId = entityIdFrom(kind, payload);
  if (!entityId) return mark("no_entity_id", { entity_kind: kind });

  // The broker may send one event in several schema versions, each its own message. They
  // share domain, schema, entity and publish time; only the first changes state.
  const logicalKey = [kind, entityId, ev.event_domain.toLowerCase(), ev.event_schema.toLowerCase(), ev.published_at_raw].join("|");
  const earlier = await trx
    .selectFrom("broker_events")
    .select("message_id")
    .where("logical_key", "=", logicalKey)
    .where("outcome", "=", "applied")
    .executeTakeFirst();
  if (earlier) return mark("duplicate_version", { entity_kind: kind, entity_id: entityId, logical_key: logicalKey, duplicate_of: earlier.message_id });

  // A stale status never overwrites a newer one, even if the entity's events span groups.
  const written = await trx
    .insertInto("broker_entities")
    .values({
      kind,
      entity_id: entityId,
      status: statusFrom(payload),
      state: JSON.stringify(payload),
      last_message_id: ev.message_id,
      last_event_type: ev.event_type,
      last_published_at: ev.published_at,
    })
    .onConflict((oc) =>
      oc
        .columns(["kind", "entity_id"])
        .doUpdateSet({
          status: (eb) => eb.ref("excluded.status"),
          state: (eb) => eb.ref("excluded.state"),
          last_message_id: (eb) => eb.ref("excluded.last_message_id"),
          last_event_type: (eb) => eb.ref("excluded.last_event_type"),
          last_published_at: (eb) => eb.ref("excluded.last_published_at"),
          applied_count: sql`broker_entities.applied_count + 1`,
          updated_at: sql`now()`,
        })
        .where("broker_entities.last_published_at", "<=", (eb) => eb.ref("excluded.last_published_at")),
    )
    .returning("kind")
    .executeTakeFirst();
  if (!written) return mark("stale", { entity_kind: kind, entity_id: entityId, logical_key: logicalKey });
  return mark("applied", { entity_kind: kind, entity_id: entityId, logical_key: logicalKey });
}

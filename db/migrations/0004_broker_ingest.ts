import { sql, type Kysely } from "kysely";

/**
 * One database round trip per broker event: `broker_ingest` stores the event and drains its
 * group in the same statement (and so the same transaction); `broker_drain` continues a
 * long backlog. Before this, each event cost about ten statements and three commits, and
 * Postgres plus the worker's query building were most of the relay pipeline's CPU.
 *
 * Which entity an event is about (kind, id, status, logical key) depends only on the event,
 * so the worker works it out once in TypeScript (src/processors/broker-entities.ts) and
 * stores it with the event; the drain here only compares and writes.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("broker_events").addColumn("entity_status", "text").execute();

  // Apply a group's stored events from its next_sequence on, in order, up to the first gap
  // or `max_events`. The group row is locked (blocking, see README) for the transaction.
  await sql`
create function broker_drain(p_group text, max_events integer)
returns jsonb language plpgsql as $$
declare
  v_next bigint;
  v_start bigint;
  ev record;
  v_outcome text;
  v_dup text;
  v_applied jsonb := '[]'::jsonb;
  v_seen integer := 0;
begin
  select next_sequence into v_next from broker_groups where message_group_id = p_group for update;
  if not found then
    return jsonb_build_object('applied', v_applied, 'more', false);
  end if;
  v_start := v_next;
  for ev in
    select e.message_id, e.sequence, e.event_type, e.received_at, e.entity_kind, e.entity_id, e.entity_status,
           e.logical_key, e.payload, e.published_at
      from broker_events e
     where e.message_group_id = p_group and e.sequence >= v_next
     order by e.sequence
     limit max_events
  loop
    v_seen := v_seen + 1;
    exit when ev.sequence <> v_next;
    v_dup := null;
    if ev.entity_kind is null then
      v_outcome := 'unknown_type';
    elsif ev.entity_id is null then
      v_outcome := 'no_entity_id';
    else
      -- The broker may send one event in several schema versions; only the first changes state.
      select e.message_id into v_dup from broker_events e where e.logical_key = ev.logical_key and e.outcome = 'applied' limit 1;
      if v_dup is not null then
        v_outcome := 'duplicate_version';
      else
        -- A stale status never overwrites a newer one, even if the entity's events span groups.
        insert into broker_entities as be (kind, entity_id, status, state, last_message_id, last_event_type, last_published_at)
        values (ev.entity_kind, ev.entity_id, ev.entity_status, ev.payload, ev.message_id, ev.event_type, ev.published_at)
        on conflict (kind, entity_id) do update
          set status = excluded.status, state = excluded.state, last_message_id = excluded.last_message_id,
              last_event_type = excluded.last_event_type, last_published_at = excluded.last_published_at,
              applied_count = be.applied_count + 1, updated_at = now()
          where be.last_published_at <= excluded.last_published_at;
        v_outcome := case when found then 'applied' else 'stale' end;
      end if;
    end if;
    update broker_events
       set outcome = v_outcome, duplicate_of = v_dup, applied_at = now(), applied_rank = nextval('broker_apply_rank')
     where message_id = ev.message_id;
    v_applied := v_applied || jsonb_build_array(jsonb_build_array(ev.message_id, ev.event_type, v_outcome, ev.received_at));
    v_next := v_next + 1;
  end loop;
  if v_next > v_start then
    update broker_groups
       set next_sequence = v_next, applied_count = applied_count + (v_next - v_start), updated_at = now()
     where message_group_id = p_group;
  end if;
  return jsonb_build_object('applied', v_applied, 'more', v_seen = max_events and v_next - v_start = max_events);
end
$$`.execute(db);

  // Store one event (once per message_id) and drain its group, atomically: if the drain
  // fails (a deadlock on an entity row), the store rolls back with it and the job retries.
  await sql`
create function broker_ingest(
  p_message_id text, p_group text, p_sequence bigint, p_event_type text, p_domain text, p_schema text,
  p_version text, p_published_at timestamptz, p_published_at_raw text, p_payload jsonb, p_source_queue text,
  p_received_at timestamptz, p_entity_kind text, p_entity_id text, p_entity_status text, p_logical_key text,
  max_events integer)
returns jsonb language plpgsql as $$
declare
  v_stored boolean;
begin
  insert into broker_groups (message_group_id) values (p_group) on conflict do nothing;
  insert into broker_events (message_id, message_group_id, sequence, event_type, event_domain, event_schema,
                             event_version, published_at, published_at_raw, payload, source_queue, received_at,
                             entity_kind, entity_id, entity_status, logical_key)
  values (p_message_id, p_group, p_sequence, p_event_type, p_domain, p_schema, p_version, p_published_at,
          p_published_at_raw, p_payload, p_source_queue, p_received_at, p_entity_kind, p_entity_id, p_entity_status,
          p_logical_key)
  on conflict (message_id) do nothing;
  v_stored := found;
  return broker_drain(p_group, max_events) || jsonb_build_object('stored', v_stored);
end
$$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function broker_ingest`.execute(db);
  await sql`drop function broker_drain`.execute(db);
  await db.schema.alterTable("broker_events").dropColumn("entity_status").execute();
}

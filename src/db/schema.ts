import type { ColumnType, Generated } from "kysely";

/** Timestamps are written as Date or ISO string and read back as Date. */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** The ledger of handled events: its primary key is what makes a redelivery a no-op. */
export interface ProcessedEventsTable {
  queue: string;
  event_key: string;
  job_id: string;
  processed_at: Generated<Timestamp>;
}

/** Every broker SQS event, once per message_id; `outcome` is set when its turn comes. */
export interface BrokerEventsTable {
  message_id: string;
  message_group_id: string;
  /** bigint: read back as a string. */
  sequence: ColumnType<string, number | bigint | string, number | bigint | string>;
  event_type: string;
  event_domain: string;
  event_schema: string;
  event_version: string;
  published_at: Timestamp;
  published_at_raw: string;
  payload: ColumnType<unknown, string, string>;
  source_queue: string;
  received_at: Timestamp;
  stored_at: Generated<Timestamp>;
  outcome: BrokerEventOutcome | null;
  entity_kind: string | null;
  entity_id: string | null;
  /** The status field of the payload, worked out when the event is stored. */
  entity_status: string | null;
  logical_key: string | null;
  duplicate_of: string | null;
  applied_at: Timestamp | null;
  applied_rank: ColumnType<string | null, never, number | bigint | string | null>;
}

export type BrokerEventOutcome = "applied" | "unknown_type" | "no_entity_id" | "duplicate_version" | "stale";

export interface BrokerGroupsTable {
  message_group_id: string;
  next_sequence: ColumnType<string, number | bigint | string | undefined, number | bigint | string>;
  applied_count: ColumnType<string, number | bigint | string | undefined, number | bigint | string>;
  updated_at: Generated<Timestamp>;
}

export interface BrokerEntitiesTable {
  kind: string;
  entity_id: string;
  status: string | null;
  state: ColumnType<unknown, string, string>;
  last_message_id: string;
  last_event_type: string;
  last_published_at: Timestamp;
  applied_count: Generated<number>;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export interface Database {
  processed_events: ProcessedEventsTable;
  broker_events: BrokerEventsTable;
  broker_groups: BrokerGroupsTable;
  broker_entities: BrokerEntitiesTable;
}

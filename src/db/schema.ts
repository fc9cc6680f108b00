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

export interface Database {
  processed_events: ProcessedEventsTable;
}

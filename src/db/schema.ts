import type { ColumnType, Generated } from "kysely";

/** Timestamps are written as Date or ISO string and read back as Date. */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

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
  investors: InvestorsTable;
  kyc_events: KycEventsTable;
  orders: OrdersTable;
  signer_nonces: SignerNoncesTable;
  chain_transactions: ChainTransactionsTable;
  chain_tx_versions: ChainTxVersionsTable;
  mint_intent_orders: MintIntentOrdersTable;
  custody_transactions: CustodyTransactionsTable;
  broker_events: BrokerEventsTable;
  broker_groups: BrokerGroupsTable;
  broker_entities: BrokerEntitiesTable;
  aml_screenings: AmlScreeningsTable;
  aml_alerts: AmlAlertsTable;
  distributions: DistributionsTable;
  distribution_lines: DistributionLinesTable;
  chain_cursors: ChainCursorsTable;
  dvp_legs: DvpLegsTable;
}

/** One screening per investor and period (the unique key makes a rerun a no-op). */
export interface AmlScreeningsTable {
  id: Generated<string>;
  investor_id: string;
  period: string;
  outcome: "clean" | "hit";
  search_id: string;
  total_hits: number;
  match_count: number;
  screened_at: Timestamp;
}

export interface AmlAlertsTable {
  id: Generated<string>;
  investor_id: string;
  screening_id: string;
  alert_type: string;
  match_data: ColumnType<unknown, string, string>;
  status: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
}

/** Who reported a KYC event (kyc_events.source). */
export type KycSource = "sumsub" | "bakkt" | "onfido" | "trulioo" | "jumio";

/** The providers hookrail submits applicants to (outbound). */
export const KYC_PROVIDERS = ["sumsub", "onfido", "jumio", "trulioo"] as const;
export type KycProvider = (typeof KYC_PROVIDERS)[number];

export type KycStatus = "pending" | "in_review" | "approved" | "rejected" | "resubmission_requested" | "documents_requested" | "restricted";

export interface InvestorsTable {
  id: string;
  wallet: string;
  first_name: string;
  last_name: string;
  date_of_birth: string;
  nationality: string;
  bakkt_party_ref: string | null;
  kyc_status: ColumnType<KycStatus, KycStatus | undefined, KycStatus>;
  kyc_event_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  kyc_details: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  /** unscreened, low (last screening clean, no open alert) or high (an AML hit). */
  aml_risk: ColumnType<string, string | undefined, string>;
  /** The provider the investor verifies with (outbound), null for one enrolled elsewhere. */
  kyc_provider: ColumnType<KycProvider | null, KycProvider | null | undefined, KycProvider | null>;
  /** The provider's applicant (or account) id, written once by the kyc-applications job. */
  kyc_applicant_id: ColumnType<string | null, string | null | undefined, string | null>;
  kyc_verification_url: ColumnType<string | null, string | null | undefined, string | null>;
  kyc_submitted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface KycEventsTable {
  id: Generated<string>;
  event_key: string;
  investor_id: string;
  source: KycSource;
  event_type: string;
  status: KycStatus;
  previous_status: KycStatus | null;
  applied: boolean;
  event_at: Timestamp;
  details: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  job_id: string | null;
  recorded_at: Timestamp;
}

export type OrderStatus =
  | "pending"
  | "awaiting_kyc"
  | "minting"
  | "completed"
  | "failed"
  | "flagged"
  | "mint_failed"
  // The stablecoin rail (delivery versus payment): see src/processors/dvp/.
  | "awaiting_allowance"
  | "settling"
  | "expired";

/** Amounts (numeric) are written and read as exact decimal strings. */
export interface OrdersTable {
  reference_id: string;
  investor_id: string;
  token_address: string;
  token_amount: string;
  expected_amount: string;
  currency: string;
  status: ColumnType<OrderStatus, OrderStatus | undefined, OrderStatus>;
  payment_source: "bank" | "bakkt" | null;
  payment_proof: string | null;
  paid_amount: string | null;
  paid_currency: string | null;
  flag_reason: string | null;
  failure_reason: string | null;
  mint_tx_hash: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  paid_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  completed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  rail: ColumnType<"fiat" | "stablecoin", "fiat" | "stablecoin" | undefined, "fiat" | "stablecoin">;
  /** Stablecoin rail: the cash token and the exact base units the buyer pays. */
  cash_token: string | null;
  cash_amount: string | null;
  /** Secondary trade: the investor who delivers the tokens (and receives the cash); null = primary issuance. */
  seller: string | null;
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Why a stablecoin order still waits (allowance or balance short, a settlement that reverted). */
  waiting_reason: string | null;
  settlement_tx_hash: string | null;
  dvp_intent_key: string | null;
  /** Settlements that reverted on chain so far: the next one's intent key counts them. */
  dvp_attempt: ColumnType<number, number | undefined, number>;
  /** Times the order entered `settling`: its settlement job's id counts them. */
  dvp_runs: ColumnType<number, number | undefined, number>;
  /** The confirmed block the watcher last checked this order's allowance and balance at. */
  dvp_checked_block: ColumnType<string | null, string | number | bigint | null | undefined, string | number | bigint | null>;
}

export interface ChainCursorsTable {
  name: string;
  chain_id: number;
  block_number: ColumnType<string, string | number | bigint, string | number | bigint>;
  updated_at: Generated<Date>;
}

/** One leg of a settled DvP order, as the contract's CashLeg / DeliveryLeg event says. */
export interface DvpLegsTable {
  reference_id: string;
  leg: "cash" | "delivery";
  token: string;
  from_address: string;
  to_address: string;
  amount: string;
  tx_hash: string;
  block_number: ColumnType<string, string | number | bigint, string | number | bigint>;
  log_index: number;
}

export interface SignerNoncesTable {
  chain_id: number;
  address: string;
  next_nonce: ColumnType<string, string | number | bigint, string | number | bigint>;
}

/** intent → signed → broadcast → mined (a receipt, too few confirmations) → confirmed | reverted (final). */
export type ChainTxStatus = "intent" | "signed" | "broadcast" | "mined" | "confirmed" | "reverted";

/** One row per side-effect intent: the signed transaction is stored before it is ever broadcast. */
export interface ChainTransactionsTable {
  intent_key: string;
  chain_id: number;
  from_address: string;
  to_address: string;
  data: string;
  value: ColumnType<string, string | undefined, string>;
  status: ColumnType<ChainTxStatus, ChainTxStatus | undefined, ChainTxStatus>;
  nonce: ColumnType<string | null, string | number | bigint | null | undefined, string | number | bigint | null>;
  raw_tx: string | null;
  tx_hash: string | null;
  block_number: ColumnType<string | null, string | number | bigint | null | undefined, string | number | bigint | null>;
  broadcasts: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
  signed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  confirmed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Bumped by each replacement (same nonce, higher fees); `raw_tx`/`tx_hash` hold the latest version. */
  version: ColumnType<number, number | undefined, number>;
  gas_limit: ColumnType<string | null, string | bigint | null | undefined, string | bigint | null>;
  max_fee_per_gas: ColumnType<string | null, string | bigint | null | undefined, string | bigint | null>;
  max_priority_fee_per_gas: ColumnType<string | null, string | bigint | null | undefined, string | bigint | null>;
  /** The head when the latest version was broadcast: replacement counts blocks from here. */
  broadcast_block: ColumnType<string | null, string | number | bigint | null | undefined, string | number | bigint | null>;
  /** The version that is in a block (any of the versions may be the one that mines). */
  mined_hash: string | null;
  block_hash: string | null;
  receipt_status: "success" | "reverted" | null;
  /** At the fee cap and still not mined. */
  stuck: ColumnType<boolean, boolean | undefined, boolean>;
  reorgs: ColumnType<number, number | undefined, number>;
}

/** Every signed version of an intent's transaction (one nonce, rising fees). */
export interface ChainTxVersionsTable {
  intent_key: string;
  version: number;
  tx_hash: string;
  raw_tx: string;
  max_fee_per_gas: ColumnType<string, string | bigint, string | bigint>;
  max_priority_fee_per_gas: ColumnType<string, string | bigint, string | bigint>;
  signed_at: Timestamp;
}

/** Which mint intent (one order's, or a batch's) carries an order; one live intent per order. */
export interface MintIntentOrdersTable {
  reference_id: string;
  intent_key: string;
  live: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Timestamp;
}

export interface CustodyTransactionsTable {
  id: string;
  status: string;
  status_rank: number;
  sub_status: string | null;
  tx_hash: string | null;
  last_event_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export type DistributionStatus = "scheduled" | "snapshotting" | "paying" | "completed";
export type RegistrarNoticeStatus = "pending" | "accepted" | "rejected";
type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;
type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** A declared dividend. Amounts (numeric) are read and written as exact decimal strings. */
export interface DistributionsTable {
  id: string;
  token_address: string;
  record_block: ColumnType<string, string | number | bigint, string | number | bigint>;
  payment_date: Timestamp;
  amount_per_token: string;
  payout_token_address: string;
  status: ColumnType<DistributionStatus, DistributionStatus | undefined, DistributionStatus>;
  payout_contract: Nullable<string>;
  holder_count: Nullable<number>;
  total_due: Nullable<string>;
  total_paid: ColumnType<string, string | undefined, string>;
  remainder: Nullable<string>;
  registrar_notice_status: ColumnType<RegistrarNoticeStatus, RegistrarNoticeStatus | undefined, RegistrarNoticeStatus>;
  registrar_reference: Nullable<string>;
  registrar_idempotency_key: string;
  registrar_attempts: ColumnType<number, number | undefined, number>;
  registrar_error: Nullable<string>;
  registrar_notified_at: NullableTime;
  created_at: Timestamp;
  updated_at: Timestamp;
  snapshot_at: NullableTime;
  completed_at: NullableTime;
}

export type DistributionLineStatus = "pending" | "paid";

/** One payment line per holder of a distribution (primary key distribution_id + holder). */
export interface DistributionLinesTable {
  distribution_id: string;
  holder: string;
  balance: string;
  amount: string;
  batch_no: number;
  intent_key: string;
  status: ColumnType<DistributionLineStatus, DistributionLineStatus | undefined, DistributionLineStatus>;
  tx_hash: Nullable<string>;
  paid_at: NullableTime;
}

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
  custody_transfers: CustodyTransfersTable;
  broker_events: BrokerEventsTable;
  broker_groups: BrokerGroupsTable;
  broker_entities: BrokerEntitiesTable;
  aml_screenings: AmlScreeningsTable;
  aml_alerts: AmlAlertsTable;
  distributions: DistributionsTable;
  distribution_lines: DistributionLinesTable;
  sepa_mandates: SepaMandatesTable;
  sepa_subscriptions: SepaSubscriptionsTable;
  sepa_collections: SepaCollectionsTable;
  sepa_debits: SepaDebitsTable;
  audit_events: AuditEventsTable;
  chain_cursors: ChainCursorsTable;
  dvp_legs: DvpLegsTable;
}

/** One operator action or admin API write (see src/server/audit.ts). */
export interface AuditEventsTable {
  id: Generated<string>;
  at: ColumnType<Date, Date | string | undefined, never>;
  actor: string;
  actor_kind: "oidc" | "saml" | "basic" | "token";
  role: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  result: string;
  detail: ColumnType<unknown, string | null, never>;
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
  /** An outbound adapter's progress at the provider (KycProgress), kept so a retry resumes instead of creating twice. */
  kyc_submission: ColumnType<Record<string, string> | null, string | null | undefined, string | null>;
  /** The investor's Fireblocks vault account, written once by the custody-vaults job. */
  custody_vault_id: ColumnType<string | null, string | null | undefined, string | null>;
  custody_asset_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The deposit address of the vault's asset wallet. */
  custody_deposit_address: ColumnType<string | null, string | null | undefined, string | null>;
  custody_vault_created_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
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
  | "refund_pending"
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
/** `failed`: ended by the custody signer (Fireblocks) without reaching the chain; final. */
export type ChainTxStatus = "intent" | "signed" | "broadcast" | "mined" | "confirmed" | "reverted" | "failed";

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
  /** SIGNER_BACKEND=fireblocks: the externalTxId the intent is handed over under (`<QUEUE_PREFIX>:<chain id>:<intent key>`), set before the create. */
  custody_external_id: string | null;
  /** The Fireblocks transaction of this intent. */
  custody_tx_id: string | null;
  /** Its last known Fireblocks status and substatus (they only move forward). */
  custody_status: string | null;
  custody_sub_status: string | null;
  /** When that status was last heard of (webhook or lookup). */
  custody_checked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
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

export type SepaMandateStatus = "active" | "revoked";

/** A SEPA Direct Debit mandate. The IBAN is personal data: masked in answers, never logged. */
export interface SepaMandatesTable {
  mandate_ref: string;
  investor_id: string;
  creditor_id: string;
  iban: string;
  bic: string | null;
  debtor_name: string;
  /** YYYY-MM-DD. */
  signature_date: string;
  status: ColumnType<SepaMandateStatus, SepaMandateStatus | undefined, SepaMandateStatus>;
  created_at: Timestamp;
  updated_at: Timestamp;
  revoked_at: NullableTime;
}

/** A monthly debit of `amount` EUR under a mandate, buying `amount * token_amount_per_eur` token base units. */
export interface SepaSubscriptionsTable {
  id: string;
  investor_id: string;
  mandate_ref: string;
  token_address: string;
  amount: string;
  token_amount_per_eur: string;
  day_of_month: number;
  /** YYYY-MM: the first month collected. */
  start_period: string;
  created_at: Timestamp;
}

export type SepaCollectionStatus = "built" | "submitted";

/** One pain.008 file: stored when built, so every submission of it is byte for byte the same. */
export interface SepaCollectionsTable {
  id: Generated<string>;
  msg_id: string | null;
  collection_date: string;
  status: ColumnType<SepaCollectionStatus, SepaCollectionStatus | undefined, SepaCollectionStatus>;
  document: string;
  tx_count: number;
  control_sum: string;
  bank_file_id: Nullable<string>;
  submissions: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
  submitted_at: NullableTime;
}

export type SepaSequenceType = "FRST" | "RCUR";
export type SepaDebitStatus = "pending" | "submitted" | "settled" | "rejected" | "returned";

/** One debit per subscription and period; its order is `order_reference`. */
export interface SepaDebitsTable {
  id: Generated<string>;
  subscription_id: string;
  period: string;
  mandate_ref: string;
  order_reference: string;
  end_to_end_id: string;
  amount: string;
  sequence_type: SepaSequenceType;
  due_date: string;
  collection_date: string;
  collection_id: Nullable<string>;
  status: ColumnType<SepaDebitStatus, SepaDebitStatus | undefined, SepaDebitStatus>;
  reason_code: Nullable<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A transfer out of custody we requested; `id` is the Fireblocks externalTxId. */
export interface CustodyTransfersTable {
  id: string;
  vault_id: string;
  asset_id: string;
  /** numeric: written and read as an exact decimal string. */
  amount: string;
  destination: ColumnType<Record<string, unknown>, string, string>;
  /** The Fireblocks transaction, once created (its lifecycle is in custody_transactions). */
  fireblocks_tx_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  submitted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

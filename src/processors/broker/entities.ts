/**
 * Which entity a broker event is about. The broker's guide names the event families
 * (orders, transfers, single and batch allocations, gifting, batches, currency batches,
 * manual adjustments) and says each event's domain is in its event_type; it does not print
 * the payloads. So the entity kind comes from the domain, and the id from the first of a
 * short list of field names present in the payload.
 */
export type EntityKind = "orders" | "transfers" | "allocations" | "gifting" | "batches" | "currency_batches" | "manual_adjustments";

const KIND_BY_DOMAIN: Record<string, EntityKind> = {
  order: "orders",
  orders: "orders",
  transfer: "transfers",
  transfers: "transfers",
  allocation: "allocations",
  allocations: "allocations",
  gift: "gifting",
  gifts: "gifting",
  gifting: "gifting",
  batch: "batches",
  batches: "batches",
  currencybatch: "currency_batches",
  currencybatches: "currency_batches",
  manualadjustment: "manual_adjustments",
  manualadjustments: "manual_adjustments",
};

const ID_FIELDS: Record<EntityKind, string[]> = {
  orders: ["orderId", "order_id", "clientOrderId", "client_order_id", "id"],
  transfers: ["transferId", "transfer_id", "id"],
  allocations: ["allocationId", "allocation_id", "id"],
  gifting: ["giftId", "gift_id", "giftingId", "gifting_id", "id"],
  batches: ["batchId", "batch_id", "id"],
  currency_batches: ["currencyBatchId", "currency_batch_id", "batchId", "batch_id", "id"],
  manual_adjustments: ["adjustmentId", "manualAdjustmentId", "adjustment_id", "manual_adjustment_id", "transactionId", "id"],
};

const STATUS_FIELDS = ["status", "orderStatus", "transferStatus", "allocationStatus", "giftStatus", "batchStatus", "transactionStatus", "state"];

export function entityKindFor(domain: string): EntityKind | undefined {
  return KIND_BY_DOMAIN[domain.toLowerCase().replace(/[^a-z0-9]/g, "")];
}

const scalarId = (v: unknown): string | undefined =>
  typeof v === "string" && v.trim() !== "" ? v.trim() : typeof v === "number" && Number.isSafeInteger(v) ? String(v) : undefined;

export function entityIdFrom(kind: EntityKind, payload: Record<string, unknown>): string | undefined {
  for (const field of ID_FIELDS[kind]) {
    const id = scalarId(payload[field]);
    if (id) return id;
  }
  return undefined;
}

export function statusFrom(payload: Record<string, unknown>): string | null {
  for (const field of STATUS_FIELDS) {
    const v = payload[field];
    if (typeof v === "string" && v !== "") return v;
  }
  return null;
}

import type { Context } from "hono";

export interface CreateOnce<Row> {
  /** Insert the resource if its key is free; true when this call inserted it. */
  insert(): Promise<boolean>;
  /** The stored resource under the same key (or natural key), after an insert found it taken. */
  existing(): Promise<Row | undefined>;
  /** Whether the stored resource is the one this request describes. */
  same(row: Row): boolean;
  /** Named in the 409 when it is not. */
  conflict: string;
  /** The resource's answer body. */
  view(row: Row): Promise<unknown> | unknown;
  /** Load the resource just inserted. */
  created(): Promise<Row>;
  /** Runs once, after a first create (queue follow-up work). */
  afterCreate?(row: Row): Promise<void>;
  /** Runs on an identical repeat (complete follow-up work whose first attempt may have failed). */
  afterRepeat?(row: Row): Promise<void>;
}

/**
 * The admin API's idempotent create: the first request answers 201 with the resource, an
 * identical repeat 200 with the stored one, a different resource under a taken key 409. The
 * unique key decides, in one insert, so two racing requests cannot both create.
 */
export async function createOnce<Row>(c: Context, op: CreateOnce<Row>): Promise<Response> {
  if (await op.insert()) {
    const row = await op.created();
    await op.afterCreate?.(row);
    return c.json(await op.view(row), 201);
  }
  const row = await op.existing();
  if (!row || !op.same(row)) return c.json({ error: `${op.conflict} already exists with different details` }, 409);
  await op.afterRepeat?.(row);
  return c.json(await op.view(row), 200);
}

/** A timestamp column as the API shows it. */
export const iso = (d: Date | null) => (d ? d.toISOString() : null);

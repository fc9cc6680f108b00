import type { Redis } from "ioredis";

/** Fewer replicas than asked confirmed the writes in time: the caller answers 503 / keeps its SQS message. */
export class NotReplicatedError extends Error {
  override name = "NotReplicatedError";
  constructor(
    readonly wanted: number,
    readonly acked: number,
    timeoutMs: number,
  ) {
    super(`${acked} of ${wanted} replica(s) confirmed the write within ${timeoutMs} ms`);
  }
}

export interface ReplicaAcks {
  /** 0 = off: the writes count as done once the primary has them. */
  replicas: number;
  timeoutMs: number;
}

interface Gate {
  inFlight?: Promise<number>;
  next?: Promise<number>;
}

const gates = new WeakMap<Redis, Gate>();

/**
 * Resolve once `acks.replicas` replicas hold every write this connection has sent so far,
 * else throw NotReplicatedError after about `acks.timeoutMs`.
 *
 * WAIT must go on the connection that made the writes: Redis waits for the offset of that
 * client's last write. WAIT also blocks the connection it runs on, so every command queued
 * behind it waits too (the producer connection is shared by all requests). Callers are
 * therefore coalesced: at most one WAIT runs per connection and at most one more is queued;
 * a caller whose write was sent while a WAIT was running joins the queued one, which is sent
 * only when the running one returns (so it covers that write). With a replica down, each
 * request waits at most about two timeouts instead of one timeout per request in line.
 */
export async function awaitReplicas(client: Redis, acks: ReplicaAcks): Promise<void> {
  if (acks.replicas <= 0) return;
  let gate = gates.get(client);
  if (!gate) {
    gate = {};
    gates.set(client, gate);
  }
  const acked = await joinWait(client, gate, acks);
  if (acked < acks.replicas) throw new NotReplicatedError(acks.replicas, acked, acks.timeoutMs);
}

function joinWait(client: Redis, gate: Gate, acks: ReplicaAcks): Promise<number> {
  const send = (): Promise<number> => client.call("WAIT", String(acks.replicas), String(acks.timeoutMs)) as Promise<number>;
  if (!gate.inFlight) {
    const p = send().finally(() => {
      if (gate.inFlight === p) gate.inFlight = undefined;
    });
    gate.inFlight = p;
    return p;
  }
  if (!gate.next) {
    const running = gate.inFlight;
    const p: Promise<number> = running
      .catch(() => 0)
      .then(() => {
        // This one becomes the running WAIT; callers from now on queue behind it.
        gate.next = undefined;
        gate.inFlight = p;
        return send();
      })
      .finally(() => {
        if (gate.inFlight === p) gate.inFlight = undefined;
      });
    gate.next = p;
  }
  return gate.next;
}

/** How many replicas the primary has online now (INFO works on managed Redis, where CONFIG may not). */
export async function connectedReplicas(client: Redis): Promise<number> {
  const info = await client.info("replication");
  const m = /^connected_slaves:(\d+)/m.exec(info);
  return m ? Number(m[1]) : 0;
}

import type { StateReader, WriteTx } from "@cleanroom/ledger";
import { formatTxId, type AuditEvent } from "@cleanroom/protocol";
import { decodeJson, readJson, writeJson } from "./json-state.js";
import { eventsMap, Maps } from "./maps.js";

/** An event as stored: one key per event, so several events of one transaction never overwrite each other. */
export interface StoredEvent {
  id: string;
  scope: string;
  /** Service time, ms since the epoch. */
  timestamp: number;
  data: unknown;
  writer: AuditEvent["writer"];
}

/** Keys are a zero-padded per-contract counter: the ledger's key order is then the order of writing. */
const KEY_DIGITS = 12;

/** Appends an event to the contract's log within the transaction. */
export function appendEvent(tx: WriteTx, contractId: string, event: StoredEvent): void {
  const next = (readJson<number>(tx, Maps.eventCounters, contractId) ?? 0) + 1;
  writeJson(tx, Maps.eventCounters, contractId, next);
  writeJson(tx, eventsMap(contractId), String(next).padStart(KEY_DIGITS, "0"), event);
}

export interface EventFilter {
  id?: string;
  scope?: string;
  fromSeqno?: number;
  toSeqno?: number;
}

function toWire(stored: StoredEvent, txId: { view: number; seqno: number }): AuditEvent {
  return {
    scope: stored.scope,
    id: stored.id,
    seqno: txId.seqno,
    transactionId: formatTxId(txId),
    timestamp: String(stored.timestamp).padStart(13, "0"),
    timestamp_iso: new Date(stored.timestamp).toISOString(),
    data: stored.data,
    writer: stored.writer,
  };
}

/** The contract's events matching the filter, oldest first. */
export function readEvents(state: StateReader, contractId: string, filter: EventFilter): AuditEvent[] {
  const map = eventsMap(contractId);
  const events: AuditEvent[] = [];
  state.forEach(map, (key, value) => {
    const txId = state.version(map, key);
    if (txId === undefined) return;
    if (filter.fromSeqno !== undefined && txId.seqno < filter.fromSeqno) return;
    if (filter.toSeqno !== undefined && txId.seqno > filter.toSeqno) return;
    const stored = decodeJson<StoredEvent>(value);
    if (filter.id !== undefined && stored.id !== filter.id) return;
    if (filter.scope !== undefined && stored.scope !== filter.scope) return;
    events.push(toWire(stored, txId));
  });
  return events;
}

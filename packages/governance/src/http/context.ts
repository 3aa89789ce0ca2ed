import type { Ledger, WriteTx } from "@cleanroom/ledger";
import { formatTxId, TX_ID_HEADER } from "@cleanroom/protocol";
import type { ConstitutionEngine } from "../constitution/engine.js";
import type { LifecycleContext } from "../governance/proposal-lifecycle.js";
import type { ReplayGuard, SignedRequestVerifier } from "../auth/signed-requests.js";
import type { ServiceIdentity } from "../identity/service-identity.js";

/** What route handlers share. */
export interface ServiceContext {
  ledger: Ledger;
  engine: ConstitutionEngine;
  verifier: SignedRequestVerifier;
  replayGuard: ReplayGuard;
  lifecycle: LifecycleContext;
  identity: ServiceIdentity;
}

/**
 * Executes a write and waits until it is durable, so a response is only ever sent for a transaction that survives
 * a crash. Returns the transaction id header to send.
 */
export async function durableWrite<T>(ledger: Ledger, fn: (tx: WriteTx) => T): Promise<{ result: T; headers: Record<string, string> }> {
  const { result, txId, committed } = ledger.transact(fn);
  await committed;
  const id = txId ?? ledger.lastTxId();
  return { result, headers: id ? { [TX_ID_HEADER]: formatTxId(id) } : {} };
}

/** Waits until all state a read may have seen is durable, then names the last transaction it reflects. */
export async function durableRead(ledger: Ledger): Promise<Record<string, string>> {
  await ledger.whenDurable();
  const id = ledger.lastTxId();
  return id ? { [TX_ID_HEADER]: formatTxId(id) } : {};
}

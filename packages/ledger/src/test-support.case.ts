// Shared fixtures for the ledger's tests: a service identity, an endorsed node identity, and throwaway directories.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createEndorsedCertificate,
  createSelfSignedCertificate,
  generateP384KeyPair,
  type KeyPairPem,
} from "@cleanroom/crypto";
import { afterEach } from "vitest";
import { openLedger } from "./ledger.js";
import { createLedgerSigner } from "./signer.js";
import type { Ledger, LedgerOptions, LedgerSigner } from "./types.js";

export interface TestIdentity {
  serviceKeys: KeyPairPem;
  serviceCertificatePem: string;
  nodeKeys: KeyPairPem;
  nodeCertificatePem: string;
  signer: LedgerSigner;
}

/** A service certificate (CA) and a node certificate it endorsed, as a CCF service would have. */
export async function createTestIdentity(): Promise<TestIdentity> {
  const serviceKeys = generateP384KeyPair();
  const serviceCertificatePem = await createSelfSignedCertificate(serviceKeys, { commonName: "CCF Service", isCa: true });
  const nodeKeys = generateP384KeyPair();
  const nodeCertificatePem = await createEndorsedCertificate(
    nodeKeys.publicKeyPem,
    { ...serviceKeys, certificatePem: serviceCertificatePem },
    { commonName: "CCF Node" },
  );
  return {
    serviceKeys,
    serviceCertificatePem,
    nodeKeys,
    nodeCertificatePem,
    signer: createLedgerSigner(nodeKeys.privateKeyPem, nodeCertificatePem),
  };
}

const directories: string[] = [];

/** A fresh temporary directory, removed by `removeTempDirs`. */
export function tempDir(prefix = "cleanroom-ledger-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  directories.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** UTF-8 bytes of a string, for compact test values. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
  };
}

/**
 * `openAt(dir, options)` for a test file: opens a ledger signed by `signer()` with signatures only on demand (unless
 * the options say otherwise), and closes every ledger it opened after each test.
 */
export function ledgerOpener(signer: () => LedgerSigner): (dir: string, options?: Partial<LedgerOptions>) => Ledger {
  const open: Ledger[] = [];
  afterEach(async () => {
    for (const ledger of open.splice(0)) await ledger.close().catch(() => undefined);
  });
  return (dir, options = {}) => {
    const ledger = openLedger({ dir, signer: signer(), signatureEveryTx: 1000, signatureIntervalMs: 60_000, ...options });
    open.push(ledger);
    return ledger;
  };
}

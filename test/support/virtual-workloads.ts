import { generateKeyPairSync } from "node:crypto";
import { createVirtualPlatform, hostDataOfConfiguration, type VirtualPlatform } from "@cleanroom/attestation";
import type { GovernanceServiceOptions } from "@cleanroom/governance";
import { WorkloadKey } from "@cleanroom/runtime";

// Attested workloads for tests: each runs on a virtual SEV-SNP platform with its own host data (what it runs) and
// its own RSA key bound into its reports, and builds the request bodies the runtime sidecar sends.

/** base64 of the text, as keys and signed data travel. */
export const base64 = (text: string | Uint8Array) => Buffer.from(text).toString("base64");

export function rsaPublicKeyPem(): string {
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
}

export interface Workload {
  name: string;
  hostData: string;
  publicKeyPem: string;
  /** The key the runtime would hold: it signs payloads and unwraps what is released. */
  key: WorkloadKey;
  /** Evidence whose report binds `runtimeData` (default: the workload's own key). */
  evidence(runtimeData?: string): { evidence: string; endorsements: string };
  /** `{attestation, encrypt}`: a secret release, token request or document fetch. */
  release(): { attestation: unknown; encrypt: { publicKey: string } };
  /** `{attestation, encrypt, sign, data}` of a signed write whose data is `payload`'s JSON. */
  signed(payload: unknown): { attestation: unknown; encrypt: { publicKey: string }; sign: { signature: string; publicKey: string }; data: string };
  /** `{timestamp, attestation, sign, data}` of an attested event write; the report binds the signing key. */
  event(payload: unknown, timestamp?: string): { timestamp: string; attestation: unknown; sign: { signature: string; publicKey: string }; data: string };
  unwrap(value: string): Buffer;
}

function workload(platform: VirtualPlatform, name: string): Workload {
  const key = WorkloadKey.generate();
  const { publicKeyPem } = key;
  const hostData = hostDataOfConfiguration(JSON.stringify({ workload: name }));
  const evidence = (runtimeData = publicKeyPem) => platform.attest({ hostData, runtimeData });
  const signedData = (payload: unknown) => {
    const data = Buffer.from(JSON.stringify(payload), "utf8");
    return { sign: { signature: key.sign(data).toString("base64"), publicKey: base64(publicKeyPem) }, data: data.toString("base64") };
  };
  return {
    name,
    hostData,
    publicKeyPem,
    key,
    evidence,
    release: () => ({ attestation: evidence(), encrypt: { publicKey: base64(publicKeyPem) } }),
    signed: (payload) => ({ attestation: evidence(), encrypt: { publicKey: base64(publicKeyPem) }, ...signedData(payload) }),
    event: (payload, timestamp = String(Date.now())) => ({ timestamp, attestation: evidence(), ...signedData(payload) }),
    unwrap: (value) => key.unwrap(value),
  };
}

/** A virtual platform, a workload per name on it, and the service options that make a service trust it. */
export async function virtualWorkloads(...names: string[]): Promise<{ platform: VirtualPlatform; workloads: Workload[]; trusting: Partial<GovernanceServiceOptions> }> {
  const platform = await createVirtualPlatform();
  return {
    platform,
    workloads: names.map((name) => workload(platform, name)),
    trusting: { insecureVirtualAttestation: true, virtualPlatformRoots: [platform.rootCertificatePem] },
  };
}

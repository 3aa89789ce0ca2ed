import { hostDataOfConfiguration, type VirtualPlatform } from "@cleanroom/attestation";
import type { AttestationMode } from "@cleanroom/protocol";

/**
 * Where a workload's SEV-SNP evidence comes from. Every source returns evidence in the same shape
 * (`{evidence, endorsements, uvm_endorsements?}`), which the governance service verifies through one code path.
 */
export interface AttestationSource {
  /** What the evidence is rooted in; anything but `sevsnp` is development only. */
  readonly mode: AttestationMode;
  /** A short description for logs and `GET /attestation`. */
  readonly description: string;
  /** Evidence whose report data binds `publicKeyPem` (SHA-256 of the PEM text, then 32 zero bytes). */
  evidenceFor(publicKeyPem: string): Promise<Record<string, unknown>>;
}

/**
 * Confidential ACI: the SKR sidecar beside the container asks the AMD secure processor for a report over the
 * runtime data (`POST /attest/combined`), and returns it with the VCEK chain and the UVM endorsement.
 */
export function skrSidecarSource(baseUrl: string, fetchImpl: typeof fetch = fetch): AttestationSource {
  return {
    mode: "sevsnp",
    description: `SKR sidecar at ${baseUrl}`,
    async evidenceFor(publicKeyPem) {
      const response = await fetchImpl(new URL("/attest/combined", baseUrl), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ runtime_data: Buffer.from(publicKeyPem, "utf8").toString("base64") }),
      });
      if (!response.ok) throw new Error(`The SKR sidecar refused to attest: HTTP ${response.status} ${await response.text()}`);
      const evidence = (await response.json());
      if (typeof evidence !== "object" || evidence === null || Array.isArray(evidence)) throw new Error("The SKR sidecar returned no evidence object.");
      return evidence as Record<string, unknown>;
    },
  };
}

/**
 * The virtual platform (development): the workload's HOST_DATA is the SHA-256 of its measured configuration, so each
 * workload (the agent, each job) has its own identity for clean-room policies, exactly as on hardware.
 */
export function virtualPlatformSource(platform: VirtualPlatform, measuredConfiguration: string | Uint8Array): AttestationSource & { hostData: string } {
  const hostData = hostDataOfConfiguration(measuredConfiguration);
  return {
    mode: "virtual-platform",
    description: `virtual platform (development root ${platform.rootSpkiSha256.slice(0, 16)}…), host data ${hostData}`,
    hostData,
    evidenceFor(publicKeyPem) {
      return Promise.resolve({ ...platform.attest({ hostData, runtimeData: publicKeyPem }) });
    },
  };
}

/**
 * The genuine recorded report of the reference's insecure-virtual mode. It is bound to a published key, so the
 * runtime must use that key (see `WorkloadKey.fromPem`) and anyone can read what is released to it.
 */
export function replayedEvidenceSource(evidence: Record<string, unknown>): AttestationSource {
  return {
    mode: "replayed-test-vector",
    description: "replayed genuine test vector (published key)",
    evidenceFor() {
      return Promise.resolve(evidence);
    },
  };
}

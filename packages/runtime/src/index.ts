export { WorkloadKey } from "./workload-key.js";
export { type AttestationSource, replayedEvidenceSource, skrSidecarSource, virtualPlatformSource } from "./attestation-sources.js";
export { GovernanceLink, type GovernanceLinkOptions } from "./governance-link.js";
export { type RuntimeSidecar, type RuntimeSidecarOptions, startRuntimeSidecar } from "./sidecar.js";
export { addPlatformOptions, attestationPlatform, attestedLink, untilSignal, type GovernanceOptions, type PlatformOptions } from "./platforms.js";
export { writeReadyFile } from "./ready-file.js";

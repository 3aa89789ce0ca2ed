export { startGovernanceService, SERVICE_VERSION, type GovernanceService, type GovernanceServiceOptions } from "./service.js";
export type { InitialMember } from "./state/genesis.js";
export { DEFAULT_CONSTITUTION } from "./constitution/default-constitution.js";
export { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from "./constitution/sandbox-types.js";

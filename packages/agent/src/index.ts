export { startAgent, type AgentOptions, type RunningAgent } from "./service.js";
export { type DocumentApprovalStatus, type GovernancePort, type OwnedDocument } from "./governance-port.js";
export { AGENT_AUDIT_SOURCE } from "./audit-log.js";
export { governancePortOf } from "./link-port.js";

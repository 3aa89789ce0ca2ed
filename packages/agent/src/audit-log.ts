import type { GovernancePort } from "./governance-port.js";

/** The agent's own audit source (the reference's is `spark-analytics-agent`). */
export const AGENT_AUDIT_SOURCE = "cleanroom-agent";

/**
 * The contract's audit log as the agent writes it: events signed by the attested agent, in the reference's
 * `{source, message}` shape. Denials must be recorded before the caller is answered, so `record` waits for the
 * write; a failed write fails the request rather than leaving a denial unrecorded.
 */
export class AuditLog {
  constructor(
    private readonly port: GovernancePort,
    private readonly onDeliveryFailure: (error: unknown) => void = () => undefined,
  ) {}

  /** Records an event of the agent's own (a run's start, a denial) and waits until governance has it. */
  async record(message: string): Promise<void> {
    await this.port.putEvent({ data: { source: AGENT_AUDIT_SOURCE, message } });
  }

  /** Engine events during a run are delivered best effort (reference §8.10): a lost event never fails the run. */
  bestEffort(message: string, source: string): void {
    this.port.putEvent({ data: { source, message } }).catch(this.onDeliveryFailure);
  }
}

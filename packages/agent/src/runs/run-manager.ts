import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { AUDIT_EVENTS, OPERATIONAL_EVENTS, runJob, type EngineEvent, type JobLimits, type ParquetWrite } from "@cleanroom/engine-duckdb";
import {
  ApiError,
  parsePartitionRange,
  type CallerStatus,
  type RunHistory,
  type RunQueryRequest,
  type RunStatus,
  type RunSubmitted,
} from "@cleanroom/protocol";
import { AuditLog } from "../audit-log.js";
import type { GovernancePort } from "../governance-port.js";
import { resolveRun } from "./job-resolver.js";
import { checkExecutionConsent, checkQueryApproved, type CheckedQuery } from "./run-checks.js";
import { asApiError, describeFailure } from "./run-failure.js";
import type { RunStore } from "./run-store.js";

export interface RunManagerOptions {
  readonly port: GovernancePort;
  readonly store: RunStore;
  readonly contractId: string;
  /** The agent's private folder: each run gets `runs/<runId>/` for downloads and staged output, removed after. */
  readonly workDirectory: string;
  readonly limits: JobLimits;
  /** Writes Parquet output; the agent passes a `PrestartedParquetWriter`'s, so that no run waits for Python to start. */
  readonly writeParquet?: ParquetWrite;
  /** How many runs execute at once; more wait their turn. Each has the full memory limit, so the default is 1. */
  readonly maxConcurrentRuns?: number;
  readonly clock?: () => Date;
  /** Receives failures that do not fail anything (an undelivered best-effort event). */
  readonly logError?: (error: unknown) => void;
}

export type SubmitAnswer = { readonly kind: "submitted"; readonly body: RunSubmitted } | { readonly kind: "existing"; readonly body: RunStatus };

interface QueuedRun {
  readonly runId: string;
  readonly checked: CheckedQuery;
  readonly range: { startDate: string; endDate: string } | undefined;
}

/** Submits runs after the run-time checks, executes them in the background, and keeps their status and history. */
export class RunManager {
  readonly #options: RunManagerOptions;
  readonly #audit: AuditLog;
  readonly #queue: QueuedRun[] = [];
  readonly #active = new Set<Promise<void>>();

  constructor(options: RunManagerOptions) {
    this.#options = options;
    this.#audit = new AuditLog(options.port, options.logError);
    options.store.failInterrupted(this.#now());
  }

  #now(): string {
    return (this.#options.clock?.() ?? new Date()).toISOString();
  }

  /** An existing run of the same query answers for the run id (idempotent retries); another query's is a conflict. */
  #existing(queryId: string, runId: string): SubmitAnswer | undefined {
    const owner = this.#options.store.queryOf(runId);
    if (owner === undefined) return undefined;
    if (owner !== queryId) throw new ApiError("RunIdInUse", `Run id ${runId} is already used by a run of another query.`);
    return { kind: "existing", body: this.status(runId) };
  }

  /**
   * The run endpoint's algorithm (reference §3.3): dates, run id, approvals, consent; then either the dry run's
   * plan or a recorded, audited submission that executes in the background.
   */
  async submit(queryId: string, request: RunQueryRequest, caller: Pick<CallerStatus, "kind" | "id">): Promise<SubmitAnswer> {
    const range = parsePartitionRange(request.startDate, request.endDate);
    const runId = request.runId ?? randomUUID();
    const existing = this.#existing(queryId, runId);
    if (existing) return existing;
    const { port, contractId } = this.#options;
    const checked = await checkQueryApproved(port, queryId, runId, this.#audit);
    await checkExecutionConsent(port, checked, runId, this.#audit);

    if (request.dryRun === true) {
      const resolved = await this.#resolve(checked, runId, range, false).catch((error: unknown) => {
        throw asApiError(error);
      });
      return { kind: "submitted", body: { status: "success", id: "none", runId, queryId, dryRun: true, plan: resolved.plan } };
    }
    const inserted = this.#options.store.insert({
      runId,
      queryId,
      contractId,
      submittedBy: { kind: caller.kind, id: caller.id },
      submittedAt: this.#now(),
      ...(range ?? {}),
    });
    // Another request took the run id meanwhile: answered as a repeat.
    if (!inserted) return this.#existing(queryId, runId) as SubmitAnswer;
    try {
      await this.#audit.record(`Starting query execution for queryId: ${queryId}. | job id: ${runId}.`);
    } catch (error) {
      // A run that cannot be audited does not start.
      this.#options.store.finish(runId, this.#now(), { state: "FAILED", error: describeFailure(error) });
      throw error;
    }
    this.#queue.push({ runId, checked, range });
    this.#pump();
    return { kind: "submitted", body: { status: "success", id: runId, runId, queryId, state: "SUBMITTED" } };
  }

  #pump(): void {
    const limit = this.#options.maxConcurrentRuns ?? 1;
    while (this.#active.size < limit && this.#queue.length > 0) {
      const next = this.#queue.shift() as QueuedRun;
      const running: Promise<void> = this.#execute(next).finally(() => {
        this.#active.delete(running);
        this.#pump();
      });
      this.#active.add(running);
    }
  }

  #resolve(checked: CheckedQuery, runId: string, range: QueuedRun["range"], fetchData: boolean) {
    return resolveRun(checked, {
      port: this.#options.port,
      runId,
      contractId: this.#options.contractId,
      ...(range ? { range } : {}),
      runDirectory: join(this.#options.workDirectory, "runs", runId),
      limits: this.#options.limits,
      day: this.#now().slice(0, 10),
      fetchData,
      ...(this.#options.writeParquet ? { writeParquet: this.#options.writeParquet } : {}),
    });
  }

  #recordEvent(runId: string, event: EngineEvent): void {
    const { store } = this.#options;
    const timestamp = this.#now();
    if (event.category === "statistics") {
      store.appendEvent(runId, { timestamp, category: "statistics", name: event.name, eventId: event.id, message: JSON.stringify(event.data), data: { ...event.data } });
      return;
    }
    store.appendEvent(runId, { timestamp, category: event.category, name: event.name, eventId: event.id, message: event.message, data: { ...event.data } });
    if (event.category === "audit") this.#audit.bestEffort(event.message, event.source);
  }

  /** Failures before the engine started get the engine's own failure events, so every failed run reads the same. */
  #recordEarlyFailure(runId: string, failure: { code: string; message: string }): void {
    const reason = `${failure.code}: ${failure.message}`;
    const operational = OPERATIONAL_EVENTS.QUERY_EXECUTION_FAILED;
    const audit = AUDIT_EVENTS.QUERY_FAILED;
    this.#recordEvent(runId, { category: "operational", name: "QUERY_EXECUTION_FAILED", id: operational.id, message: `Event_${operational.id} | Query execution failed: ${reason}`, data: { error: reason } });
    this.#recordEvent(runId, {
      category: "audit",
      name: "QUERY_FAILED",
      id: audit.id,
      source: audit.source,
      message: `Event_QUERY_FAILED_${audit.id} | Query failed | job id: ${runId} | reason: ${reason}`,
      data: { job_id: runId, reason },
    });
  }

  async #execute({ runId, checked, range }: QueuedRun): Promise<void> {
    const { store, port } = this.#options;
    const runDirectory = join(this.#options.workDirectory, "runs", runId);
    let engineStarted = false;
    try {
      store.markRunning(runId, this.#now());
      await mkdir(runDirectory, { recursive: true, mode: 0o700 });
      const resolved = await this.#resolve(checked, runId, range, true);
      engineStarted = true;
      const result = await runJob(resolved.job, {
        openWriter: resolved.openWriter,
        // Consent is asked again with the result in hand: a revocation during the run means nothing is committed.
        beforeCommit: async () => {
          await checkExecutionConsent(port, checked, runId, this.#audit);
          return true;
        },
        onEvent: (event) => this.#recordEvent(runId, event),
      });
      store.finish(runId, this.#now(), {
        state: "COMPLETED",
        stats: { rowsRead: result.rowsRead, rowsWritten: result.rowsWritten, durationSec: result.durationSec },
        output: resolved.output,
      });
    } catch (error) {
      const failure = describeFailure(error);
      if (!engineStarted) this.#recordEarlyFailure(runId, failure);
      store.finish(runId, this.#now(), { state: "FAILED", error: failure });
    } finally {
      await rm(runDirectory, { recursive: true, force: true }).catch(this.#options.logError ?? (() => undefined));
    }
  }

  status(jobId: string): RunStatus {
    const status = this.#options.store.status(jobId);
    if (!status) throw new ApiError("RunNotFound", `The agent has no run ${jobId}.`);
    return status;
  }

  /** A query's finished runs; an empty history for a query that never ran. */
  history(queryId: string): RunHistory {
    return (
      this.#options.store.history(queryId) ?? {
        queryId,
        latestRun: null,
        runs: [],
        summary: { totalRuns: 0, successfulRuns: 0, failedRuns: 0, totalRuntimeSeconds: 0, avgDurationSeconds: 0, totalRowsRead: 0, totalRowsWritten: 0 },
      }
    );
  }

  /** Resolves when no run is queued or executing (shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#active.size > 0) await Promise.allSettled([...this.#active]);
  }
}

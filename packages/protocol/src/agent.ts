import { z } from "zod";
import { ApiError } from "./errors.js";

// The clean-room agent's wire types (reference: upstream-spark-analytics.md §3.2–§3.4), defined once for the agent
// and its clients. Where the reference's OpenAPI and wire disagree, the wire wins (§8.1: the job id is `id`).

/**
 * A run id: also the job id, a folder name in the sink (`<contractId>/<YYYY-MM-DD>/<runId>/`) and an audit-log key,
 * so it is restricted to characters that are safe in all three. Unlike the reference there is no `cl-spark-`
 * prefix and no sanitizing: a run id either is valid or is refused, so two ids can never map to one job.
 */
export const RunIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "expected 1-63 letters, digits, '_' or '-', starting with a letter or digit");

/** `YYYY-MM-DD`, or the reference's `YYYY-MM-DDT00:00:00+00:00` form (time part midnight UTC only). */
const PARTITION_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T00:00:00(?:\.0+)?(?:Z|\+00:00|\+0000)?)?$/;

/** Parses a partition date to `YYYY-MM-DD`; InvalidDateFormat for anything else, including impossible dates. */
export function parsePartitionDate(value: string, name: string): string {
  const match = PARTITION_DATE.exec(value);
  const day = match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
  if (day === undefined || Number.isNaN(Date.parse(`${day}T00:00:00Z`)) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) {
    throw new ApiError("InvalidDateFormat", `${name} '${value.slice(0, 64)}' is not a date of the form YYYY-MM-DD (a time part must be midnight UTC).`);
  }
  return day;
}

/** Both dates or neither, start ≤ end (reference §3.3 step 3, with its messages). */
export function parsePartitionRange(startDate: string | undefined, endDate: string | undefined): { startDate: string; endDate: string } | undefined {
  if (startDate === undefined && endDate === undefined) return undefined;
  if (startDate === undefined || endDate === undefined) throw new ApiError("InvalidDateRange", "Both startDate and endDate must be provided.");
  const range = { startDate: parsePartitionDate(startDate, "startDate"), endDate: parsePartitionDate(endDate, "endDate") };
  if (range.startDate > range.endDate) throw new ApiError("InvalidDateRange", "startDate must be earlier than or equal to the endDate.");
  return range;
}

/** Every day of an inclusive range, as `YYYY-MM-DD`. */
export function daysOf(range: { startDate: string; endDate: string }): string[] {
  const days: string[] = [];
  for (let day = new Date(`${range.startDate}T00:00:00Z`); day.toISOString().slice(0, 10) <= range.endDate; day.setUTCDate(day.getUTCDate() + 1)) {
    days.push(day.toISOString().slice(0, 10));
  }
  return days;
}

/** `POST /queries/{queryId}/run`. Dates are checked by parsePartitionRange so that the reference's codes come back. */
export const RunQueryRequestSchema = z.strictObject({
  /** Optional: a fresh one is made when absent. Re-sending a runId of the same query returns that run's status. */
  runId: RunIdSchema.optional(),
  startDate: z.string().max(64).optional(),
  endDate: z.string().max(64).optional(),
  /** Check everything and resolve the job (documents, consent, keys, storage listing) without running it. */
  dryRun: z.boolean().optional(),
});
export type RunQueryRequest = z.infer<typeof RunQueryRequestSchema>;

export const RUN_STATES = ["SUBMITTED", "RUNNING", "COMPLETED", "FAILED"] as const;
export const RunStateSchema = z.enum(RUN_STATES);
export type RunState = z.infer<typeof RunStateSchema>;
export const TERMINAL_RUN_STATES: readonly RunState[] = ["COMPLETED", "FAILED"];

const ErrorInfoSchema = z.object({ code: z.string(), message: z.string() });

/** What a dry run resolved: the exact inputs and output a run would use now. */
export const RunPlanSchema = z.object({
  contractId: z.string(),
  inputs: z.array(
    z.object({ dataset: z.string(), version: z.string(), view: z.string(), location: z.string(), objects: z.number().int(), bytes: z.number().int() }),
  ),
  output: z.object({ sink: z.string(), version: z.string(), location: z.string(), path: z.string() }),
});
export type RunPlan = z.infer<typeof RunPlanSchema>;

/** The answer to a run request: accepted for execution (or, with dryRun, the plan). `id` is the job id (= runId). */
export const RunSubmittedSchema = z.object({
  status: z.literal("success"),
  id: z.string(),
  runId: z.string(),
  queryId: z.string(),
  state: RunStateSchema.optional(),
  dryRun: z.boolean().optional(),
  plan: RunPlanSchema.optional(),
});
export type RunSubmitted = z.infer<typeof RunSubmittedSchema>;

/** One event of a run: the engine's operational, audit and statistics events (reference §5 catalogue) and the agent's own. */
export const RunEventSchema = z.object({
  seq: z.number().int(),
  timestamp: z.string(),
  category: z.enum(["operational", "audit", "statistics"]),
  name: z.string(),
  /** The catalogue id (1001–1012, 2001, 3001–3006); 0 for the agent's own events. */
  eventId: z.number().int(),
  message: z.string(),
  data: z.record(z.string(), z.union([z.string(), z.number()])),
});
export type RunEvent = z.infer<typeof RunEventSchema>;

export const RunStatsSchema = z.object({ rowsRead: z.number().int(), rowsWritten: z.number().int(), durationSec: z.number() });

/** `GET /status/{jobId}`. */
export const RunStatusSchema = z.object({
  id: z.string(),
  runId: z.string(),
  queryId: z.string(),
  contractId: z.string(),
  state: RunStateSchema,
  submittedBy: z.object({ kind: z.enum(["member", "user"]), id: z.string() }),
  submittedAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  startDate: z.string().optional(),
  endDate: z.string().optional(),
  error: ErrorInfoSchema.optional(),
  stats: RunStatsSchema.optional(),
  /** Where the committed output is: the sink's location and the object keys under it. */
  output: z.object({ sink: z.string(), location: z.string(), path: z.string(), objects: z.array(z.string()) }).optional(),
  events: z.array(RunEventSchema),
});
export type RunStatus = z.infer<typeof RunStatusSchema>;

/** One finished run in a query's history (reference JobRun, with `durationSeconds`). */
export const JobRunSchema = z.object({
  runId: z.string(),
  startTime: z.string(),
  endTime: z.string(),
  durationSeconds: z.number(),
  isSuccessful: z.boolean(),
  error: ErrorInfoSchema.nullable(),
  stats: z.object({ rowsRead: z.number().int(), rowsWritten: z.number().int() }),
});
export type JobRun = z.infer<typeof JobRunSchema>;

/** `GET /queries/{queryId}/runs`: recorded when each run ends, whether or not anybody polled it (reference §8.9). */
export const RunHistorySchema = z.object({
  queryId: z.string(),
  latestRun: JobRunSchema.nullable(),
  /** The most recent 20, newest first. */
  runs: z.array(JobRunSchema),
  summary: z.object({
    totalRuns: z.number().int(),
    successfulRuns: z.number().int(),
    failedRuns: z.number().int(),
    totalRuntimeSeconds: z.number(),
    avgDurationSeconds: z.number(),
    totalRowsRead: z.number().int(),
    totalRowsWritten: z.number().int(),
  }),
});
export type RunHistory = z.infer<typeof RunHistorySchema>;

/** `GET /info`: who the agent is, so that clients can check it against the contract's clean-room policy. */
export const AgentInfoSchema = z.object({
  contractId: z.string(),
  engine: z.literal("duckdb"),
  attestationMode: z.enum(["sevsnp", "replayed-test-vector", "virtual-platform"]),
  hostData: z.string(),
  governanceUrl: z.string(),
});
export type AgentInfo = z.infer<typeof AgentInfoSchema>;

/** How many runs a history lists (the summary counts them all). */
export const RUN_HISTORY_LIMIT = 20;

/**
 * The reference's event catalogue (upstream-spark-analytics.md §5). The names and ids are part of the contract:
 * they appear in messages that operators and auditors search for, so they are defined once, here.
 */
export const OPERATIONAL_EVENTS = {
  DATASET_LOAD_STARTED: {
    id: 1001,
    template: "Started loading dataset {dataset_name} from {dataset_path} for start_date: {start_date}, end_date: {end_date}",
  },
  DATASET_LOAD_COMPLETED: {
    id: 1002,
    template: "Dataset {dataset_name} loaded successfully from {dataset_path} with {row_count} rows",
  },
  DATASET_LOAD_FAILED: { id: 1003, template: "Failed to load dataset {dataset_name} from {dataset_path}: {error}" },
  DATASET_WRITE_STARTED: { id: 1004, template: "Started writing output to datasink {dataset_name}" },
  DATASET_WRITE_COMPLETED: {
    id: 1005,
    template: "Output to datasink {dataset_name} written successfully at {output_path} with {row_count} rows",
  },
  DATASET_WRITE_FAILED: { id: 1006, template: "Failed to write output to datasink {dataset_name}: {error}" },
  QUERY_SEGMENT_EXECUTION_STARTED: { id: 1007, template: "Started executing query segment in step {step_number}" },
  QUERY_SEGMENT_EXECUTION_COMPLETED: {
    id: 1008,
    template: "Query segment in step {step_number} completed with {row_count} rows",
  },
  QUERY_SEGMENT_EXECUTION_FAILED: { id: 1009, template: "Query segment in step {step_number} failed: {error}" },
  // Defined by the reference and, as there, never emitted: a run's start is the first DATASET_LOAD_STARTED.
  QUERY_EXECUTION_STARTED: { id: 1010, template: "Query execution started" },
  QUERY_EXECUTION_COMPLETED: { id: 1011, template: "Query execution completed successfully in {duration_sec} seconds" },
  QUERY_EXECUTION_FAILED: { id: 1012, template: "Query execution failed: {error}" },
} as const;

export const AUDIT_EVENTS = {
  DATASET_LOAD_COMPLETED: {
    id: 3001,
    source: "dataset_loader",
    template: "Dataset: {dataset_name} load completed successfully | job id: {job_id}",
  },
  DATASET_LOAD_FAILED: {
    id: 3002,
    source: "dataset_loader",
    template: "Dataset: {dataset_name} load failed | job id: {job_id} | reason: {reason}",
  },
  QUERY_COMPLETED: { id: 3003, source: "run_query", template: "Query execution completed successfully | job id: {job_id}" },
  QUERY_FAILED: { id: 3004, source: "run_query", template: "Query failed | job id: {job_id} | reason: {reason}" },
  DATASET_WRITE_COMPLETED: {
    id: 3005,
    source: "run_query",
    template:
      "Dataset write completed successfully to {destination} | dataset: {dataset_name} | rows: {row_count} | job id: {job_id}",
  },
  DATASET_WRITE_FAILED: {
    id: 3006,
    source: "run_query",
    template: "Dataset write failed | dataset: {dataset_name} | job id: {job_id} | reason: {reason}",
  },
} as const;

export const STATISTICS_EVENTS = { QUERY_STATISTICS: { id: 2001 } } as const;

export type OperationalEventName = keyof typeof OPERATIONAL_EVENTS;
export type AuditEventName = keyof typeof AUDIT_EVENTS;
export type EventData = Readonly<Record<string, string | number>>;

export interface QueryStatistics {
  readonly duration_sec: number;
  readonly num_rows_read: number;
  readonly num_rows_written: number;
}

export type EngineEvent =
  | {
      readonly category: "operational";
      readonly name: OperationalEventName;
      readonly id: number;
      /** `Event_<id> | <text>`, as the reference formats it. */
      readonly message: string;
      readonly data: EventData;
    }
  | {
      readonly category: "audit";
      readonly name: AuditEventName;
      readonly id: number;
      readonly source: "dataset_loader" | "run_query";
      /** `Event_<NAME>_<id> | <text>`, as the reference formats it. */
      readonly message: string;
      readonly data: EventData;
    }
  | { readonly category: "statistics"; readonly name: "QUERY_STATISTICS"; readonly id: 2001; readonly data: QueryStatistics };

export type EventListener = (event: EngineEvent) => void;

function fill(template: string, data: EventData): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => String(data[key] ?? "NA"));
}

/** Emits events to a listener. Delivery is best effort (reference §8.10): a failing listener never fails the run. */
export class EventSink {
  constructor(
    private readonly listener: EventListener | undefined,
    private readonly jobId: string,
  ) {}

  operational(name: OperationalEventName, data: EventData = {}): void {
    const { id, template } = OPERATIONAL_EVENTS[name];
    this.deliver({ category: "operational", name, id, message: `Event_${id} | ${fill(template, data)}`, data });
  }

  audit(name: AuditEventName, data: EventData = {}): void {
    const { id, source, template } = AUDIT_EVENTS[name];
    const withJob = { ...data, job_id: this.jobId };
    this.deliver({ category: "audit", name, id, source, message: `Event_${name}_${id} | ${fill(template, withJob)}`, data: withJob });
  }

  statistics(data: QueryStatistics): void {
    this.deliver({ category: "statistics", name: "QUERY_STATISTICS", id: STATISTICS_EVENTS.QUERY_STATISTICS.id, data });
  }

  private deliver(event: EngineEvent): void {
    try {
      this.listener?.(event);
    } catch {
      // Best effort by design: the event pipeline is the caller's, and losing an event must not lose the run.
    }
  }
}

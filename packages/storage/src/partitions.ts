import type { DatasetFormat } from "@cleanroom/protocol";
import type { ObjectStore, StoredObject } from "./object-store.js";

// Date partitions as the reference's job reads them (upstream-spark-analytics.md §5, run_query step 1): with a date
// range, the folders `<YYYY-MM-DD>/` of each day in range, skipping days without one, and the whole dataset if no
// day has one; files chosen by the format's extension, recursively.

/** At most ten years of days: each day is one listing request against the owner's storage. */
export const MAX_PARTITION_DAYS = 3660;
const LISTING_CONCURRENCY = 8;
const DAY_MS = 86_400_000;

function parseDay(value: string, name: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const time = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  // Date.UTC rolls 2025-02-30 over into March; a real date comes back unchanged.
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== value) throw new RangeError(`${name} must be a date YYYY-MM-DD, not ${JSON.stringify(value)}`);
  return time;
}

/** The days from startDate to endDate inclusive, as YYYY-MM-DD. */
export function daysInRange(startDate: string, endDate: string): string[] {
  const start = parseDay(startDate, "startDate");
  const end = parseDay(endDate, "endDate");
  if (start > end) throw new RangeError("startDate must be earlier than or equal to the endDate");
  const count = (end - start) / DAY_MS + 1;
  if (count > MAX_PARTITION_DAYS) throw new RangeError(`The date range spans ${count} days; at most ${MAX_PARTITION_DAYS} are read`);
  return Array.from({ length: count }, (_, index) => new Date(start + index * DAY_MS).toISOString().slice(0, 10));
}

/**
 * Whether a key is one of the dataset's data files: the format's extension, and no segment starting with '.' or
 * '_' (Spark's file index ignores those too: `_SUCCESS`, `_temporary/`, `.crc` files, our own temporary files).
 */
function isDataFile(key: string, extension: string): boolean {
  return key.endsWith(extension) && key.split("/").every((segment) => !segment.startsWith(".") && !segment.startsWith("_"));
}

async function collect(objects: AsyncIterable<StoredObject>): Promise<StoredObject[]> {
  const all: StoredObject[] = [];
  for await (const object of objects) all.push(object);
  return all;
}

/**
 * The objects of a dataset to read, sorted by key. With an inclusive [startDate, endDate] range (YYYY-MM-DD), the
 * objects under `<YYYY-MM-DD>/` for each day in range; days without objects are skipped, and if no day in range has
 * any, every object counts (the reference's fallback). Without a range, every object. Only keys ending in the
 * format's extension (.csv, .json, .parquet) count. Throws RangeError for malformed or reversed dates.
 */
export async function datasetObjects(store: ObjectStore, format: DatasetFormat, range?: { startDate: string; endDate: string }): Promise<StoredObject[]> {
  const extension = `.${format}`;
  const dataFiles = (objects: StoredObject[]) => objects.filter((object) => isDataFile(object.key, extension));
  if (!range) return dataFiles(await collect(store.list()));
  const days = daysInRange(range.startDate, range.endDate);
  const perDay: StoredObject[][] = [];
  for (let index = 0; index < days.length; index += LISTING_CONCURRENCY) {
    perDay.push(...(await Promise.all(days.slice(index, index + LISTING_CONCURRENCY).map((day) => collect(store.list(`${day}/`))))));
  }
  // A day "exists" when its folder holds any object, as a folder with other files exists for Spark.
  if (perDay.every((objects) => objects.length === 0)) return dataFiles(await collect(store.list()));
  return dataFiles(perDay.flat());
}

import { renameSync, writeFileSync } from "node:fs";

/**
 * Announces that a service is listening by writing `value` as JSON to `path`. Whoever starts the service polls for
 * the file and reads it as soon as it appears, so it is written aside and renamed into place: a reader can never see
 * it empty or half-written (a plain write was seen read empty under load).
 */
export function writeReadyFile(path: string, value: unknown): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(value) + "\n");
  renameSync(temp, path);
}

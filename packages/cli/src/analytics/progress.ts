import type { CliIo } from "../io.js";

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A transfer's progress on stderr (stdout stays for the result): a line per 10% of `total` (or per 64 MiB when the
 * total is unknown) and one when it is done, so that logs stay short and a large upload still shows it moves.
 */
export class ByteProgress {
  private shown: number;
  private bytes = 0;

  constructor(
    private readonly io: CliIo,
    private readonly label: string,
    private readonly total?: number,
  ) {
    // Without a total, the first line comes after 64 MiB: a small transfer shows only its "done" line.
    this.shown = total ? -1 : 0;
  }

  update(bytes: number): void {
    this.bytes = bytes;
    const step = this.total ? Math.floor((bytes / this.total) * 10) : Math.floor(bytes / (64 * 1024 * 1024));
    if (step > this.shown && !(this.total !== undefined && bytes >= this.total)) {
      this.shown = step;
      this.io.stderr(`${this.label}: ${this.describe(bytes)}\n`);
    }
  }

  done(bytes = this.bytes): void {
    this.io.stderr(`${this.label}: ${this.describe(bytes)} done\n`);
  }

  private describe(bytes: number): string {
    if (!this.total) return formatBytes(bytes);
    return `${formatBytes(bytes)} / ${formatBytes(this.total)} (${Math.min(100, Math.floor((bytes / this.total) * 100))}%)`;
  }
}

import { randomBytes } from "node:crypto";
import { open, rename, rm, type FileHandle } from "node:fs/promises";

/**
 * A file that appears at its path only when complete: written beside it under a temporary name and renamed on
 * commit, so a reader of the sink never sees half an output and an aborted run leaves nothing.
 */
export class StagedFile {
  private constructor(
    readonly path: string,
    private readonly stagingPath: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<StagedFile> {
    const stagingPath = `${path}.${randomBytes(6).toString("hex")}.partial`;
    return new StagedFile(path, stagingPath, await open(stagingPath, "wx", 0o600));
  }

  async append(text: string): Promise<void> {
    await this.handle.write(text);
  }

  async commit(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.stagingPath, this.path);
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.stagingPath, { force: true });
  }
}

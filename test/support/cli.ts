import { runCli } from "@cleanroom/cli";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for `--output json` runs). */
  json<T = unknown>(): T;
}

/** Runs the real CLI in-process with captured output. */
export async function cli(args: string[], options: { home: string; cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { CLEANROOM_HOME: options.home, ...options.env },
    cwd: options.cwd,
  });
  return { code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
}

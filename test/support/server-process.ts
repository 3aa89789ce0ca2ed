import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

// Test servers that run as child processes (MinIO, Azurite): started with only the environment given, awaited until
// they answer, stopped with their workspace removed, and never left running after the test process.

/** A port nobody listens on at the moment: for servers that take their address as a flag, not port 0. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * Launches on a free port, and again on another (three tries) when the server says the port was taken: another
 * process may bind it between freePort() and the server's own bind.
 */
export async function onFreePort<T>(launch: (port: number) => Promise<T>, portTaken: RegExp): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await freePort());
    } catch (error) {
      if (attempt === 3 || !portTaken.test(String(error))) throw error;
    }
  }
}

export interface ServerProcess {
  /** What the server printed so far: attached to failures, since servers explain refusals only in their log. */
  output(): string;
  stop(): Promise<void>;
}

export interface ServerSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The server's temporary workspace, removed when it stops. */
  dir: string;
  /** Whether it answers yet. */
  ready: () => Promise<boolean>;
  timeoutMs: number;
  intervalMs: number;
}

/** Starts the server and waits until it is ready; if it exits first or is not ready in time, fails with its output. */
export async function startServerProcess(spec: ServerSpec): Promise<ServerProcess> {
  const child: ChildProcess = spawn(spec.command, spec.args, { env: spec.env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = `exited (${code ?? signal})`;
      resolve();
    }),
  );
  // If the test process dies before afterAll, the server must not outlive it.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (exited === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(spec.dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + spec.timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`${spec.name} ${exited} while starting:\n${output}`);
    }
    if (await spec.ready()) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${spec.name} was not ready within ${spec.timeoutMs / 1000} s:\n${output}`);
    }
    await sleep(spec.intervalMs);
  }
  return { output: () => output, stop };
}

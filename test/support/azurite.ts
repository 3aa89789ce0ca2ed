import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./minio.js";
import { repoRoot } from "./repo-root.js";

// Azurite's blob service (the root devDependency) as a child process on 127.0.0.1, for the Azure Blob connector's
// tests: a free port, a temporary workspace, telemetry off, stopped (and its workspace removed) by stop().

const azuriteBlobMain = join(repoRoot(), "node_modules", "azurite", "dist", "src", "blob", "main.js");

/** Azurite's one built-in account, with its well-known (public, documented) key. */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
export const AZURITE_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteServer {
  /** `http(s)://127.0.0.1:<port>/devstoreaccount1`: Azurite takes the account from the first path segment. */
  accountUrl: string;
  accountName: string;
  accountKey: string;
  /** What Azurite printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Serve https with this certificate and key (PEM); Azurite accepts bearer tokens only over https. */
  tls?: { certificatePem: string; privateKeyPem: string };
  /** `--oauth basic`: accept bearer tokens, checking issuer, audience and lifetime but not signatures. */
  oauth?: boolean;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteServer> {
  // Between freePort() and Azurite's bind another process may take the port: then Azurite exits, and we try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchAzurite(options, await freePort());
    } catch (error) {
      if (attempt === 3 || !/EADDRINUSE/.test(String(error))) throw error;
    }
  }
}

async function launchAzurite(options: AzuriteOptions, port: number): Promise<AzuriteServer> {
  const dir = mkdtempSync(join(tmpdir(), "cleanroom-azurite-"));
  const args = [azuriteBlobMain, "--blobHost", "127.0.0.1", "--blobPort", String(port), "--location", join(dir, "data")];
  // --skipApiVersionCheck: @azure/storage-blob speaks a newer service version than this Azurite knows.
  args.push("--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--disableProductStyleUrl");
  if (options.tls) {
    writeFileSync(join(dir, "cert.pem"), options.tls.certificatePem);
    writeFileSync(join(dir, "key.pem"), options.tls.privateKeyPem, { mode: 0o600 });
    args.push("--cert", join(dir, "cert.pem"), "--key", join(dir, "key.pem"));
  }
  if (options.oauth) args.push("--oauth", "basic");
  const child: ChildProcess = spawn(process.execPath, args, {
    // AZURITE_ACCOUNTS would replace the built-in account; nothing of the developer's environment should matter.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
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
    rmSync(dir, { recursive: true, force: true });
  };

  const scheme = options.tls ? "https" : "http";
  const accountUrl = `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`Azurite ${exited} while starting:\n${output}`);
    }
    if (await answers(accountUrl, options.tls?.certificatePem)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Azurite did not answer within 30 s:\n${output}`);
    }
    await sleep(100);
  }
  return { accountUrl, accountName: AZURITE_ACCOUNT_NAME, accountKey: AZURITE_ACCOUNT_KEY, output: () => output, stop };
}

/** Whether anything answers HTTP at the URL (an anonymous request: Azurite answers 403, which is an answer). */
function answers(url: string, ca: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const target = `${url}?comp=list`;
    const callback = (response: { statusCode?: number; resume(): void }) => {
      response.resume();
      resolve(response.statusCode !== undefined);
    };
    const req = ca === undefined ? httpRequest(target, { agent: false }, callback) : httpsRequest(target, { agent: false, ca }, callback);
    req.setTimeout(2_000, () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

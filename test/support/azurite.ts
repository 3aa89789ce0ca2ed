import { mkdtempSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./repo-root.js";
import { onFreePort, startServerProcess } from "./server-process.js";

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
  return onFreePort((port) => launchAzurite(options, port), /EADDRINUSE/);
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
  const scheme = options.tls ? "https" : "http";
  const accountUrl = `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`;
  const server = await startServerProcess({
    name: "Azurite",
    command: process.execPath,
    args,
    // AZURITE_ACCOUNTS would replace the built-in account; nothing of the developer's environment should matter.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
    dir,
    ready: () => answers(accountUrl, options.tls?.certificatePem),
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  return { accountUrl, accountName: AZURITE_ACCOUNT_NAME, accountKey: AZURITE_ACCOUNT_KEY, ...server };
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

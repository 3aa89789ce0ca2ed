import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { AgentClient } from "@cleanroom/agent-client";
import type { GovernanceClient } from "@cleanroom/governance-client";
import { parseCertificate } from "@cleanroom/crypto";
import { Printer, type CliIo, type OutputFormat } from "./io.js";
import { absolutePath, cleanroomHome, ProfileStore, type Profile } from "./profiles.js";

/** What every command gets: I/O, output format, profiles, and a client for the selected profile. */
export class CommandContext {
  readonly store: ProfileStore;
  readonly printer: Printer;
  /** Set by commands whose outcome is a verdict (e.g. verification failed) rather than an error. */
  exitCode = 0;
  private readonly profileName: string | undefined;
  private openClients: Array<GovernanceClient | AgentClient> = [];

  constructor(
    readonly io: CliIo,
    command: Command,
  ) {
    const globals = command.optsWithGlobals<{ profile?: string; output: OutputFormat }>();
    this.store = new ProfileStore(cleanroomHome(io.env));
    this.printer = new Printer(io, globals.output);
    this.profileName = globals.profile;
  }

  path(file: string): string {
    return absolutePath(file, this.io.cwd);
  }

  readFile(file: string): string {
    return readFileSync(this.path(file), "utf8");
  }

  profile(): { name: string; profile: Profile } {
    return this.store.resolve(this.profileName, this.io.env);
  }

  /** The selected profile's member id (hash of its certificate). */
  memberId(): string {
    const { name, profile } = this.profile();
    if (!profile.certificate) throw new Error(`Profile '${name}' has no certificate.`);
    return parseCertificate(readFileSync(profile.certificate, "utf8")).id;
  }

  async client(): Promise<GovernanceClient> {
    const { name, profile } = this.profile();
    const { GovernanceClient } = await import("@cleanroom/governance-client");
    const token = accessToken(name, profile, this.io.env);
    const client = new GovernanceClient({
      url: profile.serviceUrl,
      serviceCertificatePem: readFileSync(profile.serviceCertificate, "utf8"),
      ...(profile.certificate ? { certificatePem: readFileSync(profile.certificate, "utf8") } : {}),
      ...(profile.privateKey ? { privateKeyPem: readFileSync(profile.privateKey, "utf8") } : {}),
      ...(token !== undefined ? { token } : {}),
    });
    this.openClients.push(client);
    return client;
  }

  /** Whether the selected profile names an agent (`profile create|set-agent --agent-url --agent-cert`). */
  hasAgent(): boolean {
    const { profile } = this.profile();
    return profile.agentUrl !== undefined && profile.agentCertificate !== undefined;
  }

  /** A client of the profile's agent, with the same identity (certificate and key, or token) as the governance client. */
  async agentClient(): Promise<AgentClient> {
    const { name, profile } = this.profile();
    if (profile.agentUrl === undefined || profile.agentCertificate === undefined) {
      throw new Error(`Profile '${name}' has no agent: set one with \`cleanroom profile set-agent --agent-url <url> --agent-cert <file>\`.`);
    }
    const { AgentClient } = await import("@cleanroom/agent-client");
    const token = accessToken(name, profile, this.io.env);
    const client = new AgentClient({
      url: profile.agentUrl,
      serviceCertificatePem: readFileSync(profile.agentCertificate, "utf8"),
      ...(profile.certificate ? { certificatePem: readFileSync(profile.certificate, "utf8") } : {}),
      ...(profile.privateKey ? { privateKeyPem: readFileSync(profile.privateKey, "utf8") } : {}),
      ...(token !== undefined ? { token } : {}),
    });
    this.openClients.push(client);
    return client;
  }

  close(): void {
    for (const client of this.openClients) client.close();
    this.openClients = [];
  }
}

/**
 * The bearer token to send, if any: `CLEANROOM_ACCESS_TOKEN`, else the profile's token file, read when the client
 * first needs it (so a token refreshed by another tool between commands is picked up).
 */
export function accessToken(name: string, profile: Profile, env: Record<string, string | undefined>): string | (() => string) | undefined {
  const fromEnv = env.CLEANROOM_ACCESS_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const file = profile.tokenFile;
  if (file === undefined) return undefined;
  let cached: string | undefined;
  return () => {
    if (cached === undefined) {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (error) {
        throw new Error(`Cannot read the token file ${file} of profile '${name}': ${(error as Error).message}`);
      }
      cached = text.trim();
      if (!cached) throw new Error(`The token file ${file} of profile '${name}' is empty.`);
    }
    return cached;
  };
}

/** Parses a JSON option value, or reads it from a file when written `@path`. */
export function jsonArgument(ctx: CommandContext, value: string, what: string): unknown {
  const text = value.startsWith("@") ? ctx.readFile(value.slice(1)) : value;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} is not valid JSON${value.startsWith("@") ? ` (read from ${value.slice(1)})` : ""}.`);
  }
}

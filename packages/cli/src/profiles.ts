import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { z } from "zod";

/** A named identity on one service: lets several members act from one machine. Paths are absolute. */
export const ProfileSchema = z.strictObject({
  serviceUrl: z.url({ protocol: /^https$/ }),
  serviceCertificate: z.string().min(1),
  certificate: z.string().min(1).optional(),
  privateKey: z.string().min(1).optional(),
  /** A file holding a bearer token (JWT), read afresh by every command; `CLEANROOM_ACCESS_TOKEN` overrides it. */
  tokenFile: z.string().min(1).optional(),
  /** The clean-room agent of the profile's contract (`cleanroom query run|status|runs`, `results download`). */
  agentUrl: z.url({ protocol: /^https$/ }).optional(),
  /** The agent's TLS certificate (PEM file), pinned like the service's. */
  agentCertificate: z.string().min(1).optional(),
});
export type Profile = z.infer<typeof ProfileSchema>;

const ProfileFileSchema = z.strictObject({
  current: z.string().optional(),
  profiles: z.record(z.string(), ProfileSchema),
});
type ProfileFile = z.infer<typeof ProfileFileSchema>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function cleanroomHome(env: Record<string, string | undefined>): string {
  return env.CLEANROOM_HOME ?? join(homedir(), ".cleanroom");
}

/** Profiles in `$CLEANROOM_HOME/profiles.json` (default `~/.cleanroom`). */
export class ProfileStore {
  readonly path: string;

  constructor(home: string) {
    this.path = join(home, "profiles.json");
  }

  read(): ProfileFile {
    if (!existsSync(this.path)) return { profiles: {} };
    const parsed = ProfileFileSchema.safeParse(JSON.parse(readFileSync(this.path, "utf8")));
    if (!parsed.success) throw new Error(`${this.path} is not a valid profiles file: ${parsed.error.issues[0]?.message ?? ""}`);
    return parsed.data;
  }

  private write(file: ProfileFile): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    // Write then rename, so a crash never leaves a truncated profiles file.
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
    renameSync(temp, this.path);
  }

  save(name: string, profile: Profile, makeCurrent: boolean): void {
    if (!NAME.test(name)) throw new Error(`Invalid profile name '${name}': letters, digits, '.', '_' and '-' only.`);
    const file = this.read();
    file.profiles[name] = ProfileSchema.parse(profile);
    if (makeCurrent || file.current === undefined) file.current = name;
    this.write(file);
  }

  /** Sets (or replaces) the agent of an existing profile. */
  setAgent(name: string, agent: { agentUrl: string; agentCertificate: string }): void {
    const file = this.read();
    const profile = file.profiles[name];
    if (!profile) throw new Error(`No profile named '${name}'.`);
    file.profiles[name] = ProfileSchema.parse({ ...profile, ...agent });
    this.write(file);
  }

  use(name: string): void {
    const file = this.read();
    if (!file.profiles[name]) throw new Error(`No profile named '${name}'.`);
    file.current = name;
    this.write(file);
  }

  remove(name: string): void {
    const file = this.read();
    if (!file.profiles[name]) throw new Error(`No profile named '${name}'.`);
    delete file.profiles[name];
    if (file.current === name) delete file.current;
    this.write(file);
  }

  /** The profile to act as: `--profile`, else `CLEANROOM_PROFILE`, else the current one. */
  resolve(explicit: string | undefined, env: Record<string, string | undefined>): { name: string; profile: Profile } {
    const file = this.read();
    const name = explicit ?? env.CLEANROOM_PROFILE ?? file.current;
    if (name === undefined) throw new Error("No profile selected: create one with `cleanroom profile create` or pass --profile.");
    const profile = file.profiles[name];
    if (!profile) throw new Error(`No profile named '${name}' in ${this.path}.`);
    return { name, profile };
  }
}

export function absolutePath(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

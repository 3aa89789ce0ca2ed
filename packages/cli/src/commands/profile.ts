import type { Command } from "commander";
import { formatRecord, formatTable } from "../io.js";
import type { Run } from "./types.js";

export function registerProfileCommands(program: Command, run: Run): void {
  const profile = program.command("profile").description("Named identities, so several members can act from one machine.");

  run(
    profile
      .command("create <name>")
      .description("Create or replace a profile.")
      .requiredOption("--service-url <url>", "governance service URL (https://host:port)")
      .requiredOption("--service-cert <file>", "the service certificate to pin")
      .option("--cert <file>", "member or user certificate (PEM)")
      .option("--key <file>", "its private key (PEM)")
      .option("--token-file <file>", "a file holding a bearer token (JWT users), read by every command; $CLEANROOM_ACCESS_TOKEN overrides it")
      .option("--use", "make it the current profile"),
    (ctx, name: string, options: { serviceUrl: string; serviceCert: string; cert?: string; key?: string; tokenFile?: string; use?: boolean }) => {
      ctx.store.save(
        name,
        {
          serviceUrl: options.serviceUrl,
          serviceCertificate: ctx.path(options.serviceCert),
          ...(options.cert ? { certificate: ctx.path(options.cert) } : {}),
          ...(options.key ? { privateKey: ctx.path(options.key) } : {}),
          ...(options.tokenFile ? { tokenFile: ctx.path(options.tokenFile) } : {}),
        },
        options.use ?? false,
      );
      ctx.printer.note(`profile '${name}' saved in ${ctx.store.path}`);
    },
  );

  run(profile.command("use <name>").description("Make a profile the current one."), (ctx, name: string) => {
    ctx.store.use(name);
    ctx.printer.note(`now using profile '${name}'`);
  });

  run(profile.command("list").description("List profiles."), (ctx) => {
    const file = ctx.store.read();
    const rows = Object.entries(file.profiles).map(([name, p]) => ({ name, current: name === file.current, ...p }));
    ctx.printer.value(rows, () =>
      formatTable(rows, [
        { header: "CURRENT", value: (r) => (r.current ? "*" : "") },
        { header: "NAME", value: (r) => r.name },
        { header: "SERVICE", value: (r) => r.serviceUrl },
        { header: "CERTIFICATE", value: (r) => r.certificate },
        { header: "TOKEN FILE", value: (r) => r.tokenFile },
      ]),
    );
  });

  run(profile.command("show [name]").description("Show a profile (default: the selected one)."), (ctx, name?: string) => {
    const selected = name ? { name, profile: ctx.store.read().profiles[name] } : ctx.profile();
    if (!selected.profile) throw new Error(`No profile named '${name}'.`);
    const record = { name: selected.name, ...selected.profile };
    ctx.printer.value(record, () => formatRecord(record));
  });

  run(profile.command("remove <name>").description("Delete a profile."), (ctx, name: string) => {
    ctx.store.remove(name);
    ctx.printer.note(`profile '${name}' removed`);
  });
}

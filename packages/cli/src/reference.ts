import type { Command, Option } from "commander";
import { createProgram } from "./run-cli.js";

function optionLine(option: Option): string {
  const fallback = option.defaultValue === undefined || Array.isArray(option.defaultValue) ? "" : ` (default: \`${String(option.defaultValue)}\`)`;
  const choices = option.argChoices ? `; one of ${option.argChoices.map((c) => `\`${c}\``).join(", ")}` : "";
  return `- \`${option.flags}\`${option.mandatory ? " **(required)**" : ""}: ${option.description}${fallback}${choices}.`;
}

function usage(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  const args = command.usage().replace(/\[(options|command)\]/g, "").replace(/\s+/g, " ").trim();
  return `${names.join(" ")} ${args}`.trim();
}

function render(command: Command, depth: number, out: string[]): void {
  const isLeaf = command.commands.length === 0;
  if (depth > 0) {
    out.push(`${"#".repeat(Math.min(depth + 1, 4))} \`${usage(command)}\``, "", command.description(), "");
    const options = command.options.filter((o) => o.long !== "--help");
    if (isLeaf && options.length > 0) out.push(...options.map(optionLine), "");
  }
  for (const child of command.commands) render(child, depth + 1, out);
}

/** The CLI reference (docs/cli.md), generated from the command tree so that it cannot drift from the code. */
export function renderCliReference(): string {
  const program = createProgram({ stdout: () => undefined, stderr: () => undefined, env: {}, cwd: "/" });
  const out = [
    "# `cleanroom` command reference",
    "",
    "Generated from the CLI's command definitions by `npm run docs` (a test fails when this file is stale).",
    "",
    "Global options:",
    "",
    ...program.options.filter((o) => o.long !== "--help").map(optionLine),
    "",
    "Exit codes: 0 success; 1 a failed operation or a failed verification; 2 a usage error.",
    "",
  ];
  render(program, 0, out);
  return out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n";
}

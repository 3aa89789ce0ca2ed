import type { Command } from "commander";
import type { CommandContext } from "../context.js";

/** Attaches an action that receives the command context, then the positional arguments and options. */
export type Run = (command: Command, action: (ctx: CommandContext, ...args: never[]) => Promise<void> | void) => Command;

/**
 * Time and memory limits for one guarded stretch of sandboxed execution (a module evaluation or a call, including
 * describing what it threw). One guard per QuickJS runtime; its interrupt handler is installed once.
 */
import type { BudgetedMemory, BudgetToken } from "./budgeted-memory.js";
import type { SandboxLimits } from "./sandbox-types.js";

export interface GuardOutcome {
  /** The interrupt handler stopped the code because the deadline passed. */
  readonly interrupted: boolean;
  /** The heap needed to grow past the memory budget. */
  readonly memoryRefused: boolean;
}

export class ExecutionGuard {
  private deadline = Number.POSITIVE_INFINITY;
  private interrupted = false;
  private budget: BudgetToken | undefined;

  constructor(private readonly memory: BudgetedMemory) {}

  /**
   * QuickJS polls this from its interpreter loop (every few thousand operations), so the deadline is checked on a
   * cheap clock read. Long-running single builtins (a huge sort, a giant `fill`) are only stopped between operations;
   * the memory budget bounds how long those can be.
   */
  readonly shouldInterrupt = (): boolean => {
    if (performance.now() <= this.deadline) return false;
    this.interrupted = true;
    return true;
  };

  begin(limits: SandboxLimits): void {
    this.deadline = performance.now() + limits.timeoutMs;
    this.interrupted = false;
    this.budget = this.memory.openBudget(limits.memoryBytes);
  }

  end(): GuardOutcome {
    this.deadline = Number.POSITIVE_INFINITY;
    const budget = this.budget;
    this.budget = undefined;
    const memoryRefused = budget === undefined ? false : this.memory.closeBudget(budget);
    return { interrupted: this.interrupted, memoryRefused };
  }
}

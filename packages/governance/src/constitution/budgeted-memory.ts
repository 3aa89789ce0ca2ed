/**
 * The WebAssembly memory the QuickJS module runs in, with a growth budget for sandboxed code.
 *
 * Why this exists: the quickjs-emscripten build has no `malloc_usable_size`, so QuickJS's own accounting
 * (`JS_SetMemoryLimit`) counts 8 bytes per live allocation instead of its size. `setMemoryLimit` then only stops single
 * allocations larger than the limit, and a loop of moderate allocations grows the wasm heap towards 2 GiB. The heap
 * grows through `Memory.grow` (called by the Emscripten glue when dlmalloc runs out of space), so refusing growth
 * beyond a ceiling makes malloc return NULL and QuickJS throw its ordinary, recoverable "out of memory" error.
 */

const WASM_PAGE_BYTES = 65_536;

// The project's lib settings (ES2023, no DOM) do not declare the WebAssembly namespace, so type the part we use.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}
type WasmMemoryConstructor = new (descriptor: { initial: number; maximum: number }) => WasmMemory;
const WasmMemoryBase = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly.Memory;

/** Saved budget state, so that budgets can nest (a host function could in principle run another sandbox). */
export interface BudgetToken {
  readonly ceiling: number;
  readonly refused: boolean;
}

export class BudgetedMemory extends WasmMemoryBase {
  /** Size of the memory before any sandboxed code ran: data, the 5 MiB C stack and the initial heap. */
  readonly baselineBytes: number;
  private ceiling = Number.POSITIVE_INFINITY;
  private refused = false;

  constructor(initialPages: number, maximumPages: number) {
    super({ initial: initialPages, maximum: maximumPages });
    this.baselineBytes = initialPages * WASM_PAGE_BYTES;
  }

  override grow(deltaPages: number): number {
    if (this.buffer.byteLength + deltaPages * WASM_PAGE_BYTES > this.ceiling) {
      this.refused = true;
      // The Emscripten glue catches this and reports the allocation as failed.
      throw new RangeError("sandbox memory budget exhausted");
    }
    return super.grow(deltaPages);
  }

  /**
   * Lets the heap grow to at most `baselineBytes + limitBytes` until {@link closeBudget}. The ceiling is absolute
   * rather than relative to the current size so that repeated exhaustion cannot ratchet the process's memory upwards;
   * the price is that the initial arena is shared with the state other sandboxes keep between calls.
   */
  openBudget(limitBytes: number): BudgetToken {
    const saved = { ceiling: this.ceiling, refused: this.refused };
    this.ceiling = this.baselineBytes + limitBytes;
    this.refused = false;
    return saved;
  }

  /** Restores the budget that was active before {@link openBudget}; returns whether growth was refused meanwhile. */
  closeBudget(saved: BudgetToken): boolean {
    const refused = this.refused;
    this.ceiling = saved.ceiling;
    this.refused = saved.refused || refused;
    return refused;
  }
}

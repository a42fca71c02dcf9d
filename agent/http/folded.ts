// Names an instrumentation folded into `_overflow` under a cap of its own (maxRoutes,
// maxHosts), remembered so that each counts once in pcp_agent.instances.overflowed.

/** Most names remembered; past it the memory starts over, and a name may count again. */
export const FOLDED_NAMES_REMEMBERED = 1000;

export class FoldedNames {
  private readonly seen = new Set<string>();

  /** Whether `name` is new: true once per name while it is remembered. */
  add(name: string): boolean {
    if (this.seen.has(name)) return false;
    if (this.seen.size >= FOLDED_NAMES_REMEMBERED) this.seen.clear();
    this.seen.add(name);
    return true;
  }
}

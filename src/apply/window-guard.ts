/**
 * The maintenance window as apply enforces it: checked at every host start against
 * the opening the plan targets (`opens`..`closes`, computed by the planner in the
 * window's time zone, DST-safe). Work that would start outside it does not start;
 * once it has closed it stays closed for the run, whatever the clock says later.
 */
import type { PlanWindow } from "../plan/types.ts";

export class WindowGuard {
  readonly #window: PlanWindow | null;
  readonly #now: () => Date;
  #closed: string | null = null;

  constructor(window: PlanWindow | null, now: () => Date) {
    this.#window = window;
    this.#now = now;
  }

  /** Why no host may start any more (one line), once check() found the window shut. */
  get closed(): string | null {
    return this.#closed;
  }

  /**
   * Null while a host may start now; otherwise the close time (ISO 8601 UTC, "" when
   * the window never opens) and why, remembered for the rest of the run. A start
   * before the window opens is refused too: the engine does not wait for it.
   */
  check(): { closes: string; detail: string } | null {
    const w = this.#window;
    if (w === null) return null;
    const now = this.#now();
    const zone = `${w.days.join(",")} ${w.start} ${w.timezone}, ${w.duration}`;
    let detail: string | null = null;
    if (w.opens === null || w.closes === null) detail = `the maintenance window (${zone}) never opens${w.never === undefined ? "" : `: ${w.never}`}`;
    else if (now.getTime() >= Date.parse(w.closes)) detail = `the maintenance window (${zone}) closed at ${w.closes}; no host starts after it (now ${now.toISOString()})`;
    else if (now.getTime() < Date.parse(w.opens)) detail = `the maintenance window (${zone}) opens at ${w.opens}; no host starts before it (now ${now.toISOString()})`;
    if (detail === null) return null;
    this.#closed = detail;
    return { closes: w.closes ?? "", detail };
  }
}

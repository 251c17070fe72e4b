import { createLogUpdate } from "log-update";
import type { ApplyEvent } from "../core/events.ts";
import { terminalFirstLine } from "../core/text.ts";
import { BUDGET_OUTCOMES } from "../apply/types.ts";

/**
 * How `steward apply` shows a run as it goes; the engine only emits events, this
 * renders them. Three forms:
 * - `json`: one JSON object per event per line (NDJSON), for scripts;
 * - `lines`: one plain line per event that matters, for CI logs and pipes;
 * - `live`: on a terminal, a view redrawn in place (log-update): the wave, hosts done,
 *   failed and running, and each running host's current step.
 * Every text from a host passes the terminal sanitiser, and `write` (the CLI's
 * redacting output) is the only way out.
 */
export type ProgressMode = "json" | "lines" | "live";

export interface Progress {
  on(event: ApplyEvent): void;
  /** Leaves the final view on screen (live mode). */
  done(): void;
}

const clean = (text: string): string => terminalFirstLine(text).slice(0, 200);
const hhmmss = (iso: string): string => iso.slice(11, 19);

/** One plain line for an event, or undefined for events too chatty for a log. */
export function eventLine(e: ApplyEvent): string | undefined {
  const t = hhmmss(e.time);
  switch (e.type) {
    case "run-start":
      return `${t} run ${e.runId}: plan ${e.planId}, ${e.hosts} host(s) in ${e.waves} wave(s)${e.resumed ? `, resumed, ${e.failuresCarried} host(s) already counted against the failure budget` : ""}`;
    case "wave-start":
      return `${t} wave ${e.wave + 1}: ${e.hosts.length} host(s)`;
    case "host-start":
      return undefined;
    case "host-wait":
      return `${t}   ${e.host}: ${clean(e.detail)}`;
    case "step-start":
      return undefined;
    case "step-end":
      return e.result.outcome === "failed" || e.result.outcome === "unknown" ? `${t}   ${e.host}: ${e.result.step} ${e.result.outcome}: ${clean(e.result.detail)}` : undefined;
    case "host-end":
      return `${t}   ${e.host}: ${e.result.outcome}${["changed", "unchanged"].includes(e.result.outcome) ? "" : ` — ${clean(e.result.detail)}`}`;
    case "wave-end":
      return `${t} wave ${e.wave + 1} done: ${Object.entries(e.counts).map(([o, n]) => `${n} ${o}`).join(", ")}`;
    case "gate":
      return `${t} gate after wave ${e.wave + 1}: ${e.ok ? "passed" : `FAILED: ${clean(e.detail)}`}`;
    case "pause":
      return `${t} pause until ${hhmmss(e.until)}`;
    case "budget":
      return `${t} failure budget tripped at ${e.host} (${e.failures} host(s) counted against the failure budget, halts at ${e.haltsAt}): no new host starts`;
    case "window":
      return `${t} maintenance window closed (${e.closes}): ${clean(e.detail)}`;
    case "signal":
      return e.mode === "graceful" ? `${t} stopping (${e.reason}): no new host starts; hosts in flight finish their current step. A second signal stops at once.` : `${t} stopping now (${e.reason})`;
    case "run-end":
      return `${t} run ended: ${e.status} (exit ${e.exitCode})`;
  }
}

/** A progress renderer writing through `write`. */
export function createProgress(mode: ProgressMode, write: (text: string) => void): Progress {
  if (mode === "json") return { on: (e) => write(`${JSON.stringify(e)}\n`), done: () => undefined };
  if (mode === "lines") {
    return {
      on: (e) => {
        const line = eventLine(e);
        if (line !== undefined) write(`${line}\n`);
      },
      done: () => undefined,
    };
  }
  return live(write);
}

function live(write: (text: string) => void): Progress {
  // log-update draws on a stream; it gets one that writes through the CLI's redacting output.
  const update = createLogUpdate({ write: (chunk: string) => (write(chunk), true), isTTY: true, columns: process.stdout.columns ?? 120, rows: process.stdout.rows ?? 40 } as unknown as NodeJS.WriteStream, { showCursor: true });
  const running = new Map<string, string>();
  const log: string[] = [];
  let wave = "";
  let done = 0;
  let failed = 0;
  let total = 0;
  const draw = (): void => {
    const rows = [...running].slice(0, 12).map(([host, step]) => `  ${host}: ${step}`);
    if (running.size > 12) rows.push(`  … and ${running.size - 12} more running`);
    update([...log.slice(-10), `${wave}  done ${done}/${total}, failed ${failed}, running ${running.size}`, ...rows].join("\n"));
  };
  return {
    on(e) {
      if (e.type === "run-start") total = e.hosts;
      if (e.type === "wave-start") wave = `wave ${e.wave + 1} (${e.hosts.length} hosts)`;
      if (e.type === "host-start") running.set(e.host, "connecting");
      if (e.type === "step-start") running.set(e.host, `${e.step} (${e.kind})`);
      if (e.type === "host-wait") running.set(e.host, "waiting for another run's host lock");
      if (e.type === "host-end") {
        running.delete(e.host);
        done += 1;
        if (BUDGET_OUTCOMES.has(e.result.outcome)) failed += 1;
      }
      const line = e.type === "host-end" && ["changed", "unchanged"].includes(e.result.outcome) ? undefined : eventLine(e);
      if (line !== undefined && e.type !== "wave-start") log.push(line);
      draw();
    },
    done() {
      draw();
      update.done();
    },
  };
}

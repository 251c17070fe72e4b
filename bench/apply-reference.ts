/**
 * The apply suite's reference clients: ssh2 used directly, one connection per host, as
 * many hosts at a time as steward's concurrency, the host key compared byte for byte
 * with its known_hosts line. Each adds one piece of the work apply must do, so the
 * suite can say what each piece costs.
 */
import type ssh2 from "ssh2";
import { gatherPlanFacts } from "../src/facts/gather.ts";
import type { FleetState, SandboxHost } from "../src/sandbox/index.ts";
import { mapConcurrent } from "../src/transport/limiter.ts";
import { createTransport } from "../src/transport/registry.ts";
import { referenceClose, sandboxTarget } from "./transport.ts";

export type Connect = (host: SandboxHost) => Promise<ssh2.Client>;

/** Runs `command` on a channel of `client`, `stdin` (when given) on its standard input; resolves to the exit code. */
export function exec(client: ssh2.Client, command: string, stdin?: string): Promise<number | undefined> {
  return new Promise((done, fail) => {
    client.exec(command, (error, channel) => {
      if (error) return fail(error);
      channel.resume();
      channel.stderr.resume();
      channel.once("close", (code?: number) => done(code));
      if (stdin !== undefined) channel.end(stdin);
    });
  });
}

/**
 * One connection per host, `concurrency` hosts at a time, the commands one after
 * another (as apply runs steps). Throws when any host fails or a command exits non-zero.
 */
export async function perHost(hosts: readonly SandboxHost[], concurrency: number, connect: Connect, commands: readonly string[]): Promise<void> {
  const results = await mapConcurrent(hosts, concurrency, async (host) => {
    const client = await connect(host);
    try {
      for (const command of commands) {
        const code = await exec(client, command);
        if (code !== 0) throw new Error(`${host.name}: ${command}: exit ${code}`);
      }
    } finally {
      await referenceClose(client);
    }
  });
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed.length > 0) throw new Error(`reference: ${failed.length} hosts failed, first: ${String(failed[0]!.reason)}`);
}

/**
 * `connect`, with new connections spaced `1000 / perSecond` ms apart as steward's
 * transport spaces them (src/transport/limiter.ts RateLimiter, to spare sshd's MaxStartups).
 */
export function spaced(connect: Connect, perSecond: number): Connect {
  let next = 0;
  return async (host) => {
    const slot = Math.max(next, Date.now());
    next = slot + 1000 / perSecond;
    if (slot > Date.now()) await new Promise((r) => setTimeout(r, slot - Date.now()));
    return connect(host);
  };
}

/** `connect`, then `script` on `/bin/sh -s` (the facts read of apply's stale check) before anything else. */
export function readFirst(connect: Connect, script: string): Connect {
  return async (host) => {
    const client = await connect(host);
    const code = await exec(client, "/bin/sh -s", script);
    if (code !== 0) {
      await referenceClose(client);
      throw new Error(`${host.name}: the facts script: exit ${code}`);
    }
    return client;
  };
}

/**
 * The same per-host work through steward's own transport and facts reader, as apply
 * does it without apply around it: the transport's defaults (connect rate, strict host
 * keys, each command wrapped so it can be killed on timeout), the stale check's facts
 * read when the plan depends on facts (gatherPlanFacts, `packageLists` as apply chooses
 * it, parsed and checked against the facts schema; `read: "none"` for a host whose steps
 * depend on no fact, which apply does not read), then the commands one after another. What steward apply takes beyond this
 * is the CLI and the engine: plan checks, lock, journal, events, results, report.
 */
export async function transportSameWork(state: FleetState, hosts: readonly SandboxHost[], concurrency: number, commands: readonly string[], read: "none" | "plan" | "plan and package lists"): Promise<void> {
  const transport = createTransport({ knownHostsFiles: [state.knownHosts], env: {} });
  try {
    const results = await mapConcurrent(hosts, concurrency, async (host) => {
      const target = sandboxTarget(state, host);
      const session = await transport.connect(target);
      try {
        if (read !== "none") {
          const facts = await gatherPlanFacts(target, { transport, packageLists: read === "plan and package lists" });
          if (!facts.ok) throw new Error(`${host.name}: facts: ${facts.error.message}`);
        }
        for (const command of commands) {
          const r = await session.exec(command, { check: false, timeoutMs: 60_000 });
          if (r.exitCode !== 0) throw new Error(`${host.name}: ${command}: exit ${r.exitCode}`);
        }
      } finally {
        await session.close();
      }
    });
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length > 0) throw new Error(`transport: ${failed.length} hosts failed, first: ${String(failed[0]!.reason)}`);
  } finally {
    await transport.close();
  }
}

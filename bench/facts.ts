import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { factsScript } from "../src/facts/script.ts";
import { gatherFacts } from "../src/facts/gather.ts";
import { downFleet, upFleet, type FleetState } from "../src/sandbox/index.ts";
import { mapConcurrent } from "../src/transport/limiter.ts";
import { createTransport } from "../src/transport/registry.ts";
import { fmt, summarise } from "./stats.ts";
import { knownHostKeys, referenceClose, referenceConnect, sandboxTarget, timed } from "./transport.ts";

const RUNS = 5;
const HOSTS = 100;
// Own subnet, apart from the test suites' fleets and the transport bench.
const SUBNET = 232;
/** steward's default number of hosts gathered at once; the reference uses the same. */
const CONCURRENCY = 16;
const TARGET_RATIO = 1.3;

/**
 * `steward facts` on 100 real OpenSSH hosts: one connection per host, the one framed
 * read-only facts script, parsed into typed facts. The reference is a minimal ssh2
 * script running the very same script text on the same hosts, as many at a time, and
 * only collecting the output: no parsing, no timeouts, retries, host-key files or
 * pooling. Target: steward within 1.3x of it in wall time.
 */
export async function benchFacts(work: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("skipped: the sandbox fleet needs root on Linux (run `sudo npm run bench facts`)");
    return;
  }
  const dir = join(work, "fleet");
  const started = Date.now();
  try {
    const state = await upFleet({ dir, count: HOSTS, subnet: SUBNET, hide: [resolve(import.meta.dirname, "..")] });
    console.log(`fleet: ${state.hosts.length} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s; ${CONCURRENCY} hosts at a time, ${RUNS} runs`);
    const keys = await knownHostKeys(state.knownHosts);
    const privateKey = await readFile(state.identityFile);
    const { script } = factsScript([]);
    console.log(`facts script: ${script.length} bytes, one exec per host`);

    const reference: number[] = [];
    const steward: number[] = [];
    let outputBytes = 0;
    for (let i = 0; i < RUNS; i++) {
      // Alternating which goes first keeps a warm-up or cache effect from favouring one side.
      const pair = [
        async () => reference.push(await timed(async () => (outputBytes = await referenceRun(state, keys, privateKey, script)))),
        async () => steward.push(await timed(() => stewardRun(state))),
      ];
      if (i % 2 === 1) pair.reverse();
      for (const step of pair) await step();
    }
    const r = summarise(reference);
    const s = summarise(steward);
    const ratio = s.median / r.median;
    console.log(`reference (ssh2 directly, same script, output collected): ${fmt(r)} wall; ${(outputBytes / HOSTS / 1024).toFixed(0)} KiB of output per host`);
    console.log(`steward facts (gatherFacts: connect, script, parse): ${fmt(s)} wall`);
    console.log(`ratio steward / reference (median): ${ratio.toFixed(2)}x`);
    console.log(`target: <= ${TARGET_RATIO}x — ${ratio <= TARGET_RATIO ? "met" : "NOT met"}`);
  } finally {
    await downFleet(dir);
  }
}

async function referenceRun(state: FleetState, keys: Map<string, Buffer>, privateKey: Buffer, script: string): Promise<number> {
  const results = await mapConcurrent(state.hosts, CONCURRENCY, async (host) => {
    const client = await referenceConnect(host, keys, privateKey);
    try {
      return await new Promise<number>((done, fail) => {
        client.exec(script, (error, channel) => {
          if (error) return fail(error);
          const chunks: Buffer[] = [];
          channel.on("data", (data: Buffer) => chunks.push(data));
          channel.stderr.resume();
          channel.once("close", (code?: number) => (code === 0 ? done(Buffer.concat(chunks).length) : fail(new Error(`${host.name}: exit ${String(code)}`))));
        });
      });
    } finally {
      await referenceClose(client);
    }
  });
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.length > 0) throw new Error(`reference: ${failed.length} hosts failed, first: ${String((failed[0] as PromiseRejectedResult).reason)}`);
  return results.reduce((sum, r) => sum + (r.status === "fulfilled" ? r.value : 0), 0);
}

async function stewardRun(state: FleetState): Promise<void> {
  const transport = createTransport({ knownHostsFiles: [state.knownHosts], hostKeyPolicy: "strict", env: {} });
  try {
    const results = await gatherFacts(state.hosts.map((host) => sandboxTarget(state, host)), { transport, concurrency: CONCURRENCY });
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`steward: ${failed.length} hosts failed, first: ${JSON.stringify(failed[0])}`);
    if (results.some((r) => r.ok && r.facts.installed.length === 0)) throw new Error("steward: a host reported no installed packages");
  } finally {
    await transport.close();
  }
}

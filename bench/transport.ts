import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import ssh2 from "ssh2";
import { downFleet, upFleet, type FleetState, type SandboxHost } from "../src/sandbox/index.ts";
import { mapConcurrent } from "../src/transport/limiter.ts";
import { createTransport } from "../src/transport/registry.ts";
import type { HostTarget } from "../src/transport/types.ts";
import { fmt, summarise } from "./stats.ts";

const RUNS = 5;
const HOSTS = 100;
// Own subnet, apart from the test suites' fleets, so the bench can run beside them.
const SUBNET = 231;
const CONCURRENCY = 50;
const COMMANDS = ["uname -r", "cat /etc/os-release", "df -P /"];
const TARGET_RATIO = 1.2;
/** The transport's default, passed explicitly so the figure printed with it stays true. */
const CONNECTS_PER_SECOND = 50;

/**
 * Gathering read-only facts from 100 real OpenSSH hosts: one connection per host,
 * three commands on channels of it, 50 hosts at a time. The reference is the least
 * any client must do — ssh2 used directly, host keys compared byte for byte with the
 * known_hosts line, no timeouts, redaction, retries or pooling. Target: steward's
 * transport within 1.2x of it in wall time.
 */
export async function benchTransport(work: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("skipped: the sandbox fleet needs root on Linux (run `sudo npm run bench transport`)");
    return;
  }
  const dir = join(work, "fleet");
  const started = Date.now();
  try {
    const state = await upFleet({ dir, count: HOSTS, subnet: SUBNET, hide: [resolve(import.meta.dirname, "..")] });
    console.log(`fleet: ${state.hosts.length} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s; ${COMMANDS.length} commands per host, ${CONCURRENCY} hosts at a time, ${RUNS} runs`);
    const keys = await knownHostKeys(state.knownHosts);
    const privateKey = await readFile(state.identityFile);

    const reference: number[] = [];
    const steward: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Alternating which goes first keeps a warm-up or cache effect from favouring one side.
      const pair = [
        async () => reference.push(await timed(() => referenceRun(state, keys, privateKey))),
        async () => steward.push(await timed(() => stewardRun(state))),
      ];
      if (i % 2 === 1) pair.reverse();
      for (const step of pair) await step();
    }
    const r = summarise(reference);
    const s = summarise(steward);
    const ratio = s.median / r.median;
    console.log(`reference (ssh2 directly): ${fmt(r)} wall`);
    console.log(`steward transport (createTransport, strict known_hosts): ${fmt(s)} wall`);
    console.log(`ratio steward / reference (median): ${ratio.toFixed(2)}x`);
    // Part of steward's time is deliberate: new connections are spaced out to spare sshd's MaxStartups.
    console.log(`  steward's connect rate limit (${CONNECTS_PER_SECOND}/s) alone spreads ${HOSTS} connects over ${((HOSTS / CONNECTS_PER_SECOND) * 1000).toFixed(0)}ms`);
    console.log(`target: <= ${TARGET_RATIO}x — ${ratio <= TARGET_RATIO ? "met" : "NOT met"}`);
  } finally {
    await downFleet(dir);
  }
}

export async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

/** known_hosts lookup name ("[127.0.231.1]:2222") to the raw key blob. */
export async function knownHostKeys(file: string): Promise<Map<string, Buffer>> {
  const keys = new Map<string, Buffer>();
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    const [name, , blob] = line.trim().split(/\s+/);
    if (name !== undefined && blob !== undefined) keys.set(name, Buffer.from(blob, "base64"));
  }
  return keys;
}

export function lookupName(host: SandboxHost): string {
  return host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
}

function expectAll(results: Array<PromiseSettledResult<number>>, who: string): void {
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.length > 0) throw new Error(`${who}: ${failed.length} hosts failed, first: ${String(failed[0]?.reason)}`);
  const outputs = results.reduce((sum, r) => sum + (r.status === "fulfilled" ? r.value : 0), 0);
  if (outputs !== HOSTS * COMMANDS.length) throw new Error(`${who}: ${outputs} commands succeeded, expected ${HOSTS * COMMANDS.length}`);
}

async function referenceRun(state: FleetState, keys: Map<string, Buffer>, privateKey: Buffer): Promise<void> {
  const results = await mapConcurrent(state.hosts, CONCURRENCY, async (host) => {
    const client = await referenceConnect(host, keys, privateKey);
    try {
      const codes = await Promise.all(COMMANDS.map((command) => referenceExec(client, command)));
      return codes.filter((code) => code === 0).length;
    } finally {
      await referenceClose(client);
    }
  });
  expectAll(results, "reference");
}

/**
 * The reference client's connection: ssh2 directly, the host key compared byte for
 * byte with its known_hosts line, nothing else.
 */
export async function referenceConnect(host: SandboxHost, keys: Map<string, Buffer>, privateKey: Buffer): Promise<ssh2.Client> {
  const expected = keys.get(lookupName(host));
  if (expected === undefined) throw new Error(`${host.name}: not in known_hosts`);
  const client = new ssh2.Client();
  await new Promise<void>((ready, fail) => {
    client.once("ready", ready).once("error", fail);
    client.connect({ host: host.address, port: host.port, username: "steward", privateKey, hostVerifier: (key: Buffer) => key.equals(expected) });
  });
  return client;
}

export async function referenceClose(client: ssh2.Client): Promise<void> {
  const closed = new Promise<void>((done) => client.once("close", () => done()));
  client.end();
  await closed;
}

/** A sandbox host as steward's transport takes it. */
export const sandboxTarget = (state: FleetState, host: SandboxHost): HostTarget => ({
  name: host.name,
  address: host.address,
  port: host.port,
  user: "steward",
  become: false,
  hostKeys: [],
  transport: "ssh",
  identityFile: state.identityFile,
});

function referenceExec(client: ssh2.Client, command: string): Promise<number | undefined> {
  return new Promise((done, fail) => {
    client.exec(command, (error, channel) => {
      if (error) return fail(error);
      let output = "";
      channel.on("data", (data: Buffer) => (output += data.toString()));
      channel.stderr.resume();
      channel.once("close", (code?: number) => done(output.length > 0 ? code : undefined));
    });
  });
}

async function stewardRun(state: FleetState): Promise<void> {
  const transport = createTransport({
    knownHostsFiles: [state.knownHosts],
    hostKeyPolicy: "strict",
    env: {},
    connectsPerSecond: CONNECTS_PER_SECOND,
  });
  try {
    const results = await mapConcurrent(state.hosts, CONCURRENCY, async (host) => {
      const session = await transport.connect(sandboxTarget(state, host));
      try {
        const outputs = await Promise.all(COMMANDS.map((command) => session.exec(command, { timeoutMs: 60_000 })));
        return outputs.filter((o) => o.exitCode === 0 && o.stdout.length > 0).length;
      } finally {
        await session.close();
      }
    });
    expectAll(results, "steward");
  } finally {
    await transport.close();
  }
}

import { writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectTimeoutError } from "../../src/transport/errors.ts";
import { create } from "../../src/transport/ssh/index.ts";
import type { HostTarget, TransportOptions } from "../../src/transport/types.ts";
import { knownHostsLine, makeClientKey, startSshd, targetFor, tempDir, type ClientKey, type Sshd } from "./sshd-server.ts";

/** A host that accepts TCP and then never says a word of SSH. */
interface FrozenHost {
  address: string;
  port: number;
  /** Resolves when the client has hung up the `n`th accepted connection (from 1). */
  hungUp(n: number): Promise<void>;
  stop(): Promise<void>;
}

async function startFrozenHost(address = "127.0.0.1"): Promise<FrozenHost> {
  const sockets: Socket[] = [];
  const hangups: Array<Promise<void>> = [];
  const waiters: Array<() => void> = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    // Read (and drop) what arrives, so the client's hang-up is seen.
    socket.resume();
    hangups.push(new Promise((resolve) => socket.once("end", () => resolve())));
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, address, () => resolve());
  });
  const info = server.address();
  if (info === null || typeof info === "string") throw new Error("no port");
  const accepted = async (n: number): Promise<Promise<void>> => {
    while (hangups.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    return hangups[n - 1]!;
  };
  return {
    address,
    port: info.port,
    hungUp: async (n) => await (await accepted(n)),
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

let key: ClientKey;
let dir: string;
let frozen: FrozenHost;
let otherFrozen: FrozenHost;
let bastion: Sshd;
let base: TransportOptions;

/** A long transport-wide limit, so only a host's own limit can explain a quick failure. */
const LONG_MS = 60_000;

const frozenTarget = (host: FrozenHost, name: string, extra: Partial<HostTarget> = {}): HostTarget => targetFor(host, key, { name, ...extra });

async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
}

beforeAll(async () => {
  dir = tempDir("connect-timeout");
  key = await makeClientKey(dir);
  frozen = await startFrozenHost();
  otherFrozen = await startFrozenHost();
  bastion = await startSshd({ authorizedKeys: [key.publicLine] });
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, knownHostsLine(bastion) + "\n");
  base = { knownHostsFiles: [knownHosts], env: {}, connectRetries: 0, connectTimeoutMs: LONG_MS };
});

afterAll(async () => {
  await Promise.all([frozen?.stop(), otherFrozen?.stop(), bastion?.stop()]);
});

describe("per-host connect timeout", () => {
  it("gives up on a silent host at the host's own limit, not the transport's", async () => {
    const transport = create(base);
    try {
      const { error, ms } = await failure(transport.connect(frozenTarget(frozen, "silent", { connectTimeoutMs: 300 })));
      expect(error).toBeInstanceOf(ConnectTimeoutError);
      expect(error).toMatchObject({ code: "connect-timeout", host: "silent", timeoutMs: 300 });
      expect((error as Error).message).toContain("300 ms");
      expect(ms).toBeLessThan(5_000);
      // The connection is closed, not left open to the silent peer.
      await frozen.hungUp(1);
    } finally {
      await transport.close();
    }
  });

  it("holds each host to its own limit when several connect at once", async () => {
    const transport = create(base);
    try {
      const [quick, patient] = await Promise.all([
        failure(transport.connect(frozenTarget(frozen, "quick", { connectTimeoutMs: 300 }))),
        failure(transport.connect(frozenTarget(otherFrozen, "patient", { connectTimeoutMs: 1_500 }))),
      ]);
      expect(quick.error).toMatchObject({ code: "connect-timeout", host: "quick", timeoutMs: 300 });
      expect(patient.error).toMatchObject({ code: "connect-timeout", host: "patient", timeoutMs: 1_500 });
      expect(quick.ms).toBeLessThan(patient.ms);
      expect(patient.ms).toBeLessThan(5_000);
    } finally {
      await transport.close();
    }
  });

  it("uses the transport's limit for a host that sets none", async () => {
    const transport = create({ ...base, connectTimeoutMs: 400 });
    try {
      const { error } = await failure(transport.connect(frozenTarget(frozen, "unset")));
      expect(error).toBeInstanceOf(ConnectTimeoutError);
      expect(error).toMatchObject({ host: "unset", timeoutMs: 400 });
    } finally {
      await transport.close();
    }
  });

  it("bounds a host behind a jump host by the host's limit, leaving the jump host in service", async () => {
    const transport = create(base);
    try {
      const via = targetFor(bastion, key, { connectTimeoutMs: 10_000 });
      const { error, ms } = await failure(transport.connect(frozenTarget(frozen, "behind", { via, connectTimeoutMs: 300 })));
      expect(error).toBeInstanceOf(ConnectTimeoutError);
      expect(error).toMatchObject({ host: "behind", timeoutMs: 300 });
      expect(ms).toBeLessThan(5_000);
      const session = await transport.connect(via);
      expect((await session.exec("echo still-here")).stdout).toBe("still-here\n");
    } finally {
      await transport.close();
    }
  });

  it("keeps a connection that made it in time open past the limit", async () => {
    const transport = create(base);
    try {
      const session = await transport.connect(targetFor(bastion, key, { connectTimeoutMs: 500 }));
      await new Promise((resolve) => setTimeout(resolve, 900));
      expect((await session.exec("echo alive")).stdout).toBe("alive\n");
    } finally {
      await transport.close();
    }
  });
});

import { spawn } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthFailedError,
  CommandTimeoutError,
  ConnectTimeoutError,
  ConnectionLostError,
  HostUnreachableError,
} from "../../src/transport/errors.ts";
import { MAX_IDENTITY_FILE_BYTES } from "../../src/transport/ssh/auth.ts";
import { create } from "../../src/transport/ssh/index.ts";
import type { TransportOptions } from "../../src/transport/types.ts";
import {
  freePort,
  knownHostsLine,
  makeClientKey,
  run,
  sessionPids,
  startSshd,
  targetFor,
  tempDir,
  type ClientKey,
  type Sshd,
} from "./sshd-server.ts";

let server: Sshd;
let key: ClientKey;
let dir: string;
let base: TransportOptions;

beforeAll(async () => {
  dir = tempDir("failures");
  key = await makeClientKey(dir);
  server = await startSshd({ authorizedKeys: [key.publicLine] });
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, knownHostsLine(server) + "\n");
  base = { knownHostsFiles: [knownHosts], env: {}, connectRetries: 0, connectTimeoutMs: 1500, killTimeoutMs: 1000 };
});

afterAll(async () => {
  await server?.stop();
});

describe("ssh failures", () => {
  it("fails a running command with a typed error when the host's sshd dies", async () => {
    const transport = create(base);
    const session = await transport.connect(targetFor(server, key));
    await session.exec("true");
    const running = session.exec("sleep 30").catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const pid of await sessionPids(server)) process.kill(pid, "SIGKILL");
    const started = Date.now();
    const error = await running;
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as Error).message).toContain("sleep 30");
    expect(Date.now() - started).toBeLessThan(3000);
    // The dead connection is dropped from the pool: the next connect dials afresh.
    const again = await transport.connect(targetFor(server, key));
    expect((await again.exec("echo back")).stdout).toBe("back\n");
    await transport.close();
  });

  it("times out connecting to a hung host without holding up a healthy one", async () => {
    const healthy = await startSshd({ authorizedKeys: [key.publicLine] });
    const known = join(dir, "known_hosts_healthy");
    writeFileSync(known, [knownHostsLine(server), knownHostsLine(healthy)].join("\n") + "\n");
    process.kill(server.pid, "SIGSTOP");
    // A connect timeout long enough that a loaded machine still answers the healthy host first.
    const transport = create({ ...base, knownHostsFiles: [known], maxConnections: 2, connectTimeoutMs: 5000 });
    try {
      const started = Date.now();
      let hungSettled = false;
      const hung = transport.connect(targetFor(server, key)).catch((e: unknown) => e).finally(() => (hungSettled = true));
      const fine = await transport.connect(targetFor(healthy, key));
      expect((await fine.exec("echo fine")).stdout).toBe("fine\n");
      // Not held up: the healthy host answered while the hung one was still waiting for its timeout (a clock bound would flake on a loaded machine).
      expect(hungSettled).toBe(false);
      const error = await hung;
      expect(error).toBeInstanceOf(ConnectTimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
      expect(Date.now() - started).toBeLessThan(9000);
    } finally {
      process.kill(server.pid, "SIGCONT");
      await transport.close();
      await healthy.stop();
    }
  });

  it("times out a command on a host that hangs mid-session, then notices the dead peer", async () => {
    const transport = create({ ...base, keepaliveIntervalMs: 400 });
    const session = await transport.connect(targetFor(server, key));
    await session.exec("true");
    const children = await sessionPids(server);
    for (const pid of children) process.kill(pid, "SIGSTOP");
    try {
      const started = Date.now();
      const error = await session.exec("echo never", { timeoutMs: 800 }).catch((e: unknown) => e);
      // Either the command timer or the keepalive (3 × 400 ms) fires first; both are typed.
      expect([CommandTimeoutError, ConnectionLostError].some((type) => error instanceof type)).toBe(true);
      if (error instanceof CommandTimeoutError) expect(error.killed).toBe(false);
      expect(Date.now() - started).toBeLessThan(4000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await session.exec("true").catch((e: unknown) => e)).toBeInstanceOf(ConnectionLostError);
    } finally {
      for (const pid of children) process.kill(pid, "SIGKILL");
      await transport.close();
    }
  });

  it("reports a closed port as unreachable", async () => {
    const transport = create(base);
    const port = await freePort("127.0.0.1");
    const error = await transport.connect(targetFor(server, key, { port })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostUnreachableError);
    expect((error as Error).message).toContain("ECONNREFUSED");
    await transport.close();
  });

  it("retries refused connects with backoff while a host boots", async () => {
    const port = await freePort("127.0.0.1");
    // The server's key does not exist yet, so first contact is recorded (accept-new).
    const transport = create({
      ...base,
      knownHostsFiles: [join(dir, "known_hosts_late")],
      hostKeyPolicy: "accept-new",
      connectRetries: 5,
      retryBaseDelayMs: 200,
    });
    const late = new Promise<Sshd>((resolve, reject) =>
      setTimeout(() => startSshd({ authorizedKeys: [key.publicLine], port }).then(resolve, reject), 500),
    );
    const started = Date.now();
    try {
      const session = await transport.connect(targetFor(server, key, { port }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect((await session.exec("echo up")).stdout).toBe("up\n");
    } finally {
      await transport.close();
      await (await late).stop();
    }
  });

  it("gives up after the configured retries", async () => {
    const transport = create({ ...base, connectRetries: 2, retryBaseDelayMs: 100 });
    const port = await freePort("127.0.0.1");
    const started = Date.now();
    expect(await transport.connect(targetFor(server, key, { port })).catch((e: unknown) => e)).toBeInstanceOf(HostUnreachableError);
    // Two retries after 100 ms and 200 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    await transport.close();
  });

  it("fails authentication with a key the server does not know, without a password prompt", async () => {
    const stranger = await makeClientKey(dir, "", "stranger");
    const transport = create(base);
    const error = await transport.connect(targetFor(server, stranger)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthFailedError);
    expect((error as Error).message).toContain(`key ${stranger.file}`);
    await transport.close();
  });

  it("refuses an identity file that is a device, a FIFO, a folder or too large, at once and without reading it", async () => {
    const fifo = join(dir, "key-fifo");
    await run("mkfifo", [fifo]);
    const folder = join(dir, "key-folder");
    mkdirSync(folder);
    const huge = join(dir, "key-huge");
    writeFileSync(huge, Buffer.alloc(MAX_IDENTITY_FILE_BYTES + 1, 0x41));
    const transport = create(base);
    const cases: Array<[string, string]> = [
      ["/dev/zero", "not a regular file (a device)"],
      [fifo, "not a regular file (a FIFO)"],
      [folder, "not a regular file (a folder)"],
      [huge, `larger than ${MAX_IDENTITY_FILE_BYTES} bytes, so not a private key`],
      [join(dir, "no-such-key"), "cannot be opened (ENOENT)"],
    ];
    const started = Date.now();
    for (const [file, why] of cases) {
      const error = await transport.connect(targetFor(server, { ...key, file })).catch((e: unknown) => e);
      expect(error, file).toBeInstanceOf(AuthFailedError);
      expect((error as Error).message).toBe(`sshd-${server.port}: cannot use identity file ${file}: ${why}`);
    }
    // A FIFO with no writer and /dev/zero would each block or read forever.
    expect(Date.now() - started).toBeLessThan(base.connectTimeoutMs!);
    await transport.close();
  });

  it("follows a link to the key file, as ~/.ssh often holds", async () => {
    const link = join(dir, "key-link");
    symlinkSync(key.file, link);
    const transport = create(base);
    expect((await (await transport.connect(targetFor(server, { ...key, file: link }))).exec("echo linked")).stdout).toBe("linked\n");
    await transport.close();
  });

  it("decrypts a key with the passphrase from the named variable", async () => {
    const locked = await makeClientKey(dir, "correct horse", "locked");
    const lockedServer = await startSshd({ authorizedKeys: [locked.publicLine] });
    const known = join(dir, "known_hosts_locked");
    writeFileSync(known, knownHostsLine(lockedServer) + "\n");
    try {
      const target = targetFor(lockedServer, locked, { identityPassphraseEnv: "DEPLOY_KEY_PASS" });
      const missing = await create({ ...base, knownHostsFiles: [known] }).connect(target).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(AuthFailedError);
      expect((missing as Error).message).toContain("DEPLOY_KEY_PASS");
      const wrong = create({ ...base, knownHostsFiles: [known], env: { DEPLOY_KEY_PASS: "wrong" } });
      expect(await wrong.connect(target).catch((e: unknown) => e)).toBeInstanceOf(AuthFailedError);
      const right = create({ ...base, knownHostsFiles: [known], env: { DEPLOY_KEY_PASS: "correct horse" } });
      expect((await (await right.connect(target)).exec("echo in")).stdout).toBe("in\n");
      await right.close();
    } finally {
      await lockedServer.stop();
    }
  });

  it("authenticates through ssh-agent when no key file is given", async () => {
    const socket = join(dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await run("ssh-add", [key.file], { env: { SSH_AUTH_SOCK: socket } });
      const transport = create({ ...base, env: { SSH_AUTH_SOCK: socket } });
      const target = targetFor(server, key);
      delete target.identityFile;
      expect((await (await transport.connect(target)).exec("echo agent")).stdout).toBe("agent\n");
      await transport.close();
    } finally {
      agent.kill();
    }
  });
});

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandTimeoutError, ExecError } from "../../src/transport/errors.ts";
import { create } from "../../src/transport/ssh/index.ts";
import type { Transport } from "../../src/transport/types.ts";
import { knownHostsLine, makeClientKey, run, startSshd, targetFor, tempDir, type ClientKey, type Sshd } from "./sshd-server.ts";

let server: Sshd;
let key: ClientKey;
let transport: Transport;
let knownHosts: string;

beforeAll(async () => {
  const dir = tempDir("exec");
  key = await makeClientKey(dir);
  server = await startSshd({ authorizedKeys: [key.publicLine] });
  knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, knownHostsLine(server) + "\n");
  transport = create({ knownHostsFiles: [knownHosts], env: {}, maxChannelsPerConnection: 3, killTimeoutMs: 3000 });
});

afterAll(async () => {
  await transport?.close();
  await server?.stop();
});

describe("ssh exec", () => {
  it("runs commands and reports exit codes and output", async () => {
    const session = await transport.connect(targetFor(server, key));
    const ok = await session.exec("echo out; echo err >&2");
    expect(ok).toMatchObject({ exitCode: 0, signal: null, stdout: "out\n", stderr: "err\n" });

    const failed = await session.exec("exit 3", { check: false });
    expect(failed.exitCode).toBe(3);

    const error = await session.exec("echo boom >&2; exit 7").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecError);
    expect(error).toMatchObject({ code: "command-failed", exitCode: 7, stderrTail: "boom\n", command: "echo boom >&2; exit 7" });
    await session.close();
  });

  it("reports a process killed by a signal", async () => {
    const session = await transport.connect(targetFor(server, key));
    const result = await session.exec("kill -TERM $$", { check: false });
    expect(result).toMatchObject({ exitCode: null, signal: "SIGTERM" });
  });

  it("feeds stdin to scripts and keeps quoting intact", async () => {
    const session = await transport.connect(targetFor(server, key));
    const script = "#!/bin/sh\nset -e\nprintf '%s\\n' \"it's $((6*7))\"\n";
    const result = await session.exec("sh -s", { stdin: script });
    expect(result.stdout).toBe("it's 42\n");
    const cat = await session.exec("cat", { stdin: Buffer.from("bytes\n") });
    expect(cat.stdout).toBe("bytes\n");
    // Without stdin the command sees EOF instead of waiting forever.
    expect((await session.exec("cat", { timeoutMs: 5000 })).stdout).toBe("");
  });

  it("streams output and keeps a bounded tail", async () => {
    const session = await transport.connect(targetFor(server, key));
    const chunks: string[] = [];
    const result = await session.exec("seq 1 20000", { tailBytes: 1024, onStdout: (chunk) => chunks.push(chunk) });
    expect(chunks.join("")).toHaveLength(108894);
    expect(result.stdoutTruncated).toBe(true);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(1024);
    expect(result.stdout.endsWith("19999\n20000\n")).toBe(true);
  });

  it("reuses one TCP connection for every command and queues beyond the channel cap", async () => {
    const accepted = (): number => (server.log().match(/Accepted publickey/g) ?? []).length;
    const before = accepted();
    const fresh = create({ knownHostsFiles: [knownHosts], env: {}, maxChannelsPerConnection: 3 });
    const sessions = await Promise.all([1, 2, 3].map(() => fresh.connect(targetFor(server, key))));
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => sessions[i % 3]!.exec(`sleep 0.3; echo ${i}`)),
    );
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
    // 12 commands, 3 channels at a time: at least 4 rounds of 0.3 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1150);
    expect(accepted() - before).toBe(1);
    await fresh.close();
  });

  it("kills the remote process tree on timeout", async () => {
    const session = await transport.connect(targetFor(server, key));
    const marker = `steward-timeout-${process.pid}-${Date.now()}`;
    // A child of a child: signalling the channel alone would leave the inner sleep running.
    const pending = session
      .exec(`echo started; sh -c 'sleep 300; : ${marker}' & sleep 301; : ${marker}`, { timeoutMs: 4000 })
      .catch((e: unknown) => e);
    // The tree is running before the timeout (4 s: on a loaded machine the channel alone can take a second or more).
    let running = "";
    for (let i = 0; i < 60 && running.trim() === ""; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      running = await run("pgrep", ["-f", marker]).then((r) => r.stdout, () => "");
    }
    expect(running.trim()).not.toBe("");
    const error = await pending;
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(error).toMatchObject({ code: "command-timeout", killed: true, stdoutTail: "started\n" });
    const left = await run("pgrep", ["-f", marker]).then(
      (r) => r.stdout,
      () => "",
    );
    expect(left).toBe("");
    // The connection survives a timed-out command.
    expect((await session.exec("echo still-here")).stdout).toBe("still-here\n");
  });
});

describe("ssh connection budget", () => {
  it("closes an idle connection for a host waiting for a slot, and not before", async () => {
    const second = await startSshd({ authorizedKeys: [key.publicLine] });
    const dir = tempDir("budget");
    const file = join(dir, "known_hosts");
    writeFileSync(file, [knownHostsLine(server), knownHostsLine(second)].join("\n") + "\n");
    const limited = create({ knownHostsFiles: [file], env: {}, maxConnections: 1 });
    try {
      const first = await limited.connect(targetFor(server, key));
      let connected = false;
      const waiting = limited.connect(targetFor(second, key)).then((session) => {
        connected = true;
        return session;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(connected).toBe(false);
      await first.close();
      const next = await waiting;
      expect((await next.exec("echo second")).stdout).toBe("second\n");
      // The first host's idle connection made room; it is dialled again on demand.
      await next.close();
      expect((await (await limited.connect(targetFor(server, key))).exec("echo first")).stdout).toBe("first\n");
    } finally {
      await limited.close();
      await second.stop();
    }
  });
});

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodeFor } from "../../src/cli/exit-codes.ts";
import { ExecError, OutputTooLargeError } from "../../src/transport/errors.ts";
import { create as createLocal } from "../../src/transport/local/index.ts";
import { OutputBudget } from "../../src/transport/output.ts";
import { create as createSsh } from "../../src/transport/ssh/index.ts";
import type { HostTarget, Session, Transport } from "../../src/transport/types.ts";
import { knownHostsLine, makeClientKey, run, startSshd, targetFor, tempDir, type ClientKey, type Sshd } from "./sshd-server.ts";

const controller: HostTarget = { name: "controller", address: "localhost", port: 0, user: "root", become: false, hostKeys: [], transport: "local" };

let server: Sshd;
let key: ClientKey;
let ssh: Transport;
const local = createLocal({});

beforeAll(async () => {
  const dir = tempDir("budget");
  key = await makeClientKey(dir);
  server = await startSshd({ authorizedKeys: [key.publicLine] });
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, knownHostsLine(server) + "\n");
  ssh = createSsh({ knownHostsFiles: [knownHosts], env: {}, killTimeoutMs: 3000 });
});

afterAll(async () => {
  await ssh?.close();
  await local.close();
  await server?.stop();
});

describe("OutputBudget", () => {
  it("takes bytes up to the limit, then refuses and calls back once", () => {
    let calls = 0;
    const budget = new OutputBudget(10, () => calls++);
    expect(budget.take(6)).toBe(true);
    expect(budget.take(4)).toBe(true);
    expect(budget.exceeded).toBe(false);
    expect(budget.take(1)).toBe(false);
    expect(budget.take(1)).toBe(false);
    expect([budget.exceeded, calls]).toEqual([true, 1]);
  });
});

for (const kind of ["ssh", "local"] as const) {
  describe(`${kind} transport output budget`, () => {
    const session = (): Promise<Session> => (kind === "ssh" ? ssh.connect(targetFor(server, key)) : local.connect(controller));

    it("kills a command printing past its budget, without a newline, and names the limit and the label", async () => {
      const s = await session();
      const tag = `steward-budget-${kind}-${process.pid}`;
      const started = Date.now();
      const error = await s.exec(`yes ${tag} | tr -d '\\n'`, { maxOutputBytes: 1024 * 1024, label: "flood test" }).catch((e: unknown) => e);
      expect(error, JSON.stringify({ ...(error as object), message: (error as Error).message })).toBeInstanceOf(OutputTooLargeError);
      const flood = error as OutputTooLargeError;
      expect(flood.code).toBe("output-too-large");
      expect(flood.message).toMatch(/: output too large: flood test printed more than 1048576 bytes \(its limit\) and was killed$/);
      expect(flood.message).not.toContain(tag);
      expect(flood.limitBytes).toBe(1048576);
      expect(exitCodeFor(flood)).toBe(1);
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await run("pgrep", ["-f", tag]).then((r) => r.stdout, () => "")).toBe("");
    });

    it("counts stdout and stderr together, and leaves commands within budget alone", async () => {
      const s = await session();
      const both = await s.exec("head -c 600000 /dev/zero; head -c 600000 /dev/zero >&2", { maxOutputBytes: 1_000_000 }).catch((e: unknown) => e);
      expect(both).toBeInstanceOf(OutputTooLargeError);
      const fine = await s.exec("head -c 600000 /dev/zero | tr '\\0' x", { maxOutputBytes: 1_000_000, tailBytes: 1_000_000 });
      expect(fine.stdout.length).toBe(600000);
    });

    it("shows the label, not the script, in results and errors", async () => {
      const s = await session();
      const script = "secret_value=hunter2; echo fine; exit 3";
      const result = await s.exec(script, { check: false, label: "current_version probe of app" });
      expect(result.command).toBe("current_version probe of app");
      const error = (await s.exec(script, { label: "current_version probe of app" }).catch((e: unknown) => e)) as ExecError;
      expect(error).toBeInstanceOf(ExecError);
      expect(error.message).toContain("current_version probe of app");
      expect(error.message).not.toContain("hunter2");
    });
  });
}

describe("ssh transport before the PID line", () => {
  let noisy: Sshd;
  let transport: Transport;

  beforeAll(async () => {
    const dir = tempDir("budget-noisy");
    // A host whose login prints without end and without a newline before any command runs.
    const force = join(dir, "force.sh");
    writeFileSync(force, "#!/bin/sh\nyes steward-noisy-login | tr -d '\\n'\n", { mode: 0o755 });
    noisy = await startSshd({ authorizedKeys: [key.publicLine], extraConfig: [`ForceCommand ${force}`] });
    const knownHosts = join(dir, "known_hosts");
    writeFileSync(knownHosts, knownHostsLine(noisy) + "\n");
    transport = createSsh({ knownHostsFiles: [knownHosts], env: {}, killTimeoutMs: 1000 });
  });

  afterAll(async () => {
    await transport?.close();
    await noisy?.stop();
  });

  it("does not buffer output without a newline as the PID line: the budget stops it", async () => {
    const s = await transport.connect(targetFor(noisy, key));
    const started = Date.now();
    const error = await s.exec("echo hi", { maxOutputBytes: 256 * 1024, timeoutMs: 20_000, label: "noisy" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputTooLargeError);
    // No PID was read, so the kill cannot be confirmed; the channel is signalled and closed.
    expect((error as OutputTooLargeError).killed).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

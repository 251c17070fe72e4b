import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode, exitCodeFor } from "../../src/cli/exit-codes.ts";
import { StewardError } from "../../src/core/errors.ts";
import { Redactor } from "../../src/core/redact.ts";
import { downFleet, execInHost, healFault, injectFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import {
  BecomeError,
  CommandTimeoutError,
  ConnectionLostError,
  ConnectTimeoutError,
  ExecError,
  HostUnreachableError,
} from "../../src/transport/errors.ts";
import { mapConcurrent } from "../../src/transport/limiter.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { HostTarget, Transport, TransportOptions } from "../../src/transport/types.ts";

/**
 * The transport against real sandbox hosts (OpenSSH, sudo, reboots, faults), through
 * the registry as the stages use it, with the fleet's known_hosts and strict checking.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 221;
const PROJECT = resolve(import.meta.dirname, "../..");

let dir: string;
let state: FleetState;
/** Shared by the tests that expect pooled connections to every host. */
let transport: Transport;
/** Transports a test creates for its own options, closed after all tests. */
const extra: Transport[] = [];

function target(name: string, overrides: Partial<HostTarget> = {}): HostTarget {
  const host = state.hosts.find((h) => h.name === name);
  if (host === undefined) throw new Error(`no host ${name} in the fleet`);
  return {
    name,
    address: host.address,
    port: host.port,
    user: "steward",
    become: { method: "sudo", user: "root" },
    hostKeys: [],
    transport: "ssh",
    identityFile: state.identityFile,
    ...overrides,
  };
}

function newTransport(options: TransportOptions = {}): Transport {
  const made = createTransport({ knownHostsFiles: [state.knownHosts], hostKeyPolicy: "strict", env: {}, ...options });
  extra.push(made);
  return made;
}

/** Runs `command` on every host at once; each result carries when it settled. */
async function everyHost(
  via: Transport,
  command: string,
  timeoutMs: number,
): Promise<Array<{ host: string; ms: number; stdout?: string; error?: unknown }>> {
  const started = Date.now();
  const settled = await mapConcurrent(state.hosts, state.hosts.length, async (host) => {
    try {
      const session = await via.connect(target(host.name));
      try {
        const result = await session.exec(command, { timeoutMs });
        return { host: host.name, ms: Date.now() - started, stdout: result.stdout };
      } finally {
        await session.close();
      }
    } catch (error) {
      return { host: host.name, ms: Date.now() - started, error };
    }
  });
  return settled.map((s) => {
    if (s.status === "rejected") throw s.reason;
    return s.value;
  });
}

beforeAll(async () => {
  dir = join(await mkdtemp(join(tmpdir(), "steward-transport-fleet-")), "fleet");
  state = await upFleet({ dir, count: 4, subnet: SUBNET, hide: [PROJECT] });
  transport = createTransport({ knownHostsFiles: [state.knownHosts], hostKeyPolicy: "strict", env: {}, killTimeoutMs: 1_000 });
});

afterAll(async () => {
  await Promise.all([transport, ...extra].map((t) => t?.close()));
  if (!dir) return;
  await downFleet(dir);
  await rm(dirname(dir), { recursive: true, force: true });
});

describe("ssh transport on the sandbox fleet", () => {
  it("runs commands on every host, several per host over one pooled connection", async () => {
    const results = await mapConcurrent(state.hosts, 4, async (host) => {
      const session = await transport.connect(target(host.name));
      // $SSH_CONNECTION names the client's port: the same port means the same TCP connection.
      const commands = ["hostname", "echo $SSH_CONNECTION", "echo $SSH_CONNECTION", "id -un"];
      const outputs = await Promise.all(commands.map((c) => session.exec(c, { timeoutMs: 20_000 })));
      await session.close();
      return outputs.map((o) => o.stdout.trim());
    });
    for (const [i, settled] of results.entries()) {
      expect(settled.status).toBe("fulfilled");
      if (settled.status !== "fulfilled") continue;
      const [hostname, first, second, user] = settled.value;
      expect(hostname).toBe(state.hosts[i]?.name);
      expect(first).toMatch(new RegExp(`^\\S+ \\d+ 127\\.0\\.${SUBNET}\\.${i + 1} 2222$`));
      expect(second).toBe(first);
      expect(user).toBe("steward");
    }
  });

  it("becomes root through the host's real sudo, quoting intact", async () => {
    const session = await transport.connect(target("sandbox-01"));
    expect((await session.exec("id -u", { become: true })).stdout).toBe("0\n");
    const quoted = await session.exec(`id -un; printf '%s\\n' "it's \\$HOME"`, { become: true });
    expect(quoted.stdout).toBe("root\nit's $HOME\n");
    // become applies only to the commands that ask for it.
    expect((await session.exec("id -un")).stdout).toBe("steward\n");
    await session.close();
  });

  it("fails with a typed BecomeError when sudo wants a password", async () => {
    // A second login user inside one host whose sudoers rule lacks NOPASSWD. The
    // password '*' unlocks key logins (sshd refuses locked accounts) yet matches none.
    const setup = await execInHost(state, "sandbox-02", [
      "sh",
      "-ec",
      [
        "useradd --create-home --shell /bin/sh steward-pw",
        "usermod --password '*' steward-pw",
        "install -d -o steward-pw -m 700 /home/steward-pw/.ssh",
        "install -o steward-pw -m 600 /home/steward/.ssh/authorized_keys /home/steward-pw/.ssh/authorized_keys",
        "echo 'steward-pw ALL=(ALL:ALL) ALL' > /etc/sudoers.d/steward-pw",
        "chmod 440 /etc/sudoers.d/steward-pw",
      ].join("\n"),
    ]);
    expect(setup).toMatchObject({ code: 0, stderr: "" });

    const session = await transport.connect(target("sandbox-02", { user: "steward-pw" }));
    expect((await session.exec("id -un")).stdout).toBe("steward-pw\n");
    const started = Date.now();
    const error = await session.exec("id -u", { become: true, timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BecomeError);
    expect(error).toMatchObject({ code: "become-failed", reason: "password-required", host: "sandbox-02" });
    expect((error as BecomeError).hint).toContain("NOPASSWD");
    // sudo -n answers at once instead of waiting for a password that never comes.
    expect(Date.now() - started).toBeLessThan(5_000);
    await session.close();
  });

  it("a reboot mid-run drops running commands with ConnectionLostError; the next connect finds a new boot", async () => {
    const rebooting = newTransport({ connectRetries: 8, retryBaseDelayMs: 100 });
    const session = await rebooting.connect(target("sandbox-03"));
    const bootBefore = (await session.exec("cat /proc/sys/kernel/random/boot_id")).stdout.trim();
    expect(bootBefore).toMatch(/^[0-9a-f-]{36}$/);

    const running = session.exec("sleep 60", { timeoutMs: 30_000 }).catch((e: unknown) => e);
    // The reboot command itself may finish or lose its connection first; either is fine.
    await session.exec("reboot", { become: true, timeoutMs: 20_000 }).catch((e: unknown) => e);
    const lost = await running;
    expect(lost).toBeInstanceOf(ConnectionLostError);
    expect(lost).toMatchObject({ code: "connection-lost", host: "sandbox-03" });
    expect((lost as ConnectionLostError).message).toContain("sleep 60");
    await session.close();

    // The pool drops the dead connection; the redial rides out the boot on refused connects.
    const again = await rebooting.connect(target("sandbox-03"));
    const bootAfter = (await again.exec("cat /proc/sys/kernel/random/boot_id")).stdout.trim();
    expect(bootAfter).toMatch(/^[0-9a-f-]{36}$/);
    expect(bootAfter).not.toBe(bootBefore);
    await again.close();
  });

  describe("a frozen host", () => {
    beforeAll(async () => {
      // Pooled connections to every host before the freeze: the host hangs mid-run.
      await everyHost(transport, "true", 20_000);
      await injectFault(state, "sandbox-04", "freeze");
    });
    afterAll(async () => {
      if (state) await healFault(state, "sandbox-04", "freeze");
    });

    it("times out its command while the healthy hosts finish first", async () => {
      const timeoutMs = 3_000;
      const results = await everyHost(transport, "hostname", timeoutMs);
      const frozen = results.find((r) => r.host === "sandbox-04");
      const healthy = results.filter((r) => r.host !== "sandbox-04");
      expect(frozen?.error).toBeInstanceOf(CommandTimeoutError);
      expect(frozen?.error).toMatchObject({ code: "command-timeout", host: "sandbox-04", killed: false });
      expect(frozen?.ms).toBeGreaterThanOrEqual(timeoutMs);
      for (const r of healthy) {
        expect(r.stdout).toBe(`${r.host}\n`);
        expect(r.ms).toBeLessThan(timeoutMs);
      }
    });

    it("times out a new connection while the healthy hosts connect and finish first", async () => {
      const connectTimeoutMs = 2_000;
      const fresh = newTransport({ connectTimeoutMs, connectRetries: 0 });
      const results = await everyHost(fresh, "hostname", 20_000);
      const frozen = results.find((r) => r.host === "sandbox-04");
      expect(frozen?.error).toBeInstanceOf(ConnectTimeoutError);
      expect(frozen?.error).toMatchObject({ code: "connect-timeout", host: "sandbox-04" });
      expect(frozen?.ms).toBeGreaterThanOrEqual(connectTimeoutMs);
      for (const r of results.filter((x) => x.host !== "sandbox-04")) {
        expect(r.stdout).toBe(`${r.host}\n`);
        expect(r.ms).toBeLessThan(connectTimeoutMs);
      }
    });
  });

  it("types a host whose sshd is down as unreachable, after its bounded retries", async () => {
    await injectFault(state, "sandbox-04", "unreachable");
    try {
      const fresh = newTransport({ connectRetries: 1, retryBaseDelayMs: 100 });
      const results = await everyHost(fresh, "hostname", 20_000);
      const down = results.find((r) => r.host === "sandbox-04");
      expect(down?.error).toBeInstanceOf(HostUnreachableError);
      expect(down?.error).toMatchObject({ code: "unreachable", host: "sandbox-04" });
      expect((down?.error as HostUnreachableError).message).toContain(`127.0.${SUBNET}.4:2222`);
      // Escaping a command, it is a StewardError the CLI maps like any other: hosts failed.
      expect(down?.error).toBeInstanceOf(StewardError);
      expect(exitCodeFor(down?.error)).toBe(ExitCode.hostsFailed);
      for (const r of results.filter((x) => x.host !== "sandbox-04")) expect(r.stdout).toBe(`${r.host}\n`);
    } finally {
      expect(await healFault(state, "sandbox-04", "unreachable")).toEqual([]);
    }
  });

  it("redacts a secret a remote command prints, in streams, results, commands and errors", async () => {
    const secret = "tok-7f3a9c21e4b8";
    const written = await execInHost(state, "sandbox-01", ["sh", "-ec", `printf '%s' '${secret}' > /root/token; chmod 600 /root/token`]);
    expect(written.code).toBe(0);
    const redactor = new Redactor();
    redactor.add(secret);
    const redacting = newTransport({ redactor });
    const session = await redacting.connect(target("sandbox-01"));

    const chunks: string[] = [];
    const result = await session.exec("cat /root/token; echo; base64 -w0 /root/token; echo", {
      become: true,
      onStdout: (chunk) => chunks.push(chunk),
    });
    expect(result.stdout).toBe("***\n***\n");
    expect(chunks.join("")).toBe("***\n***\n");

    const echoed = await session.exec(`echo ${secret}`);
    expect(echoed.command).toBe("echo ***");
    expect(echoed.stdout).toBe("***\n");

    const error = await session.exec("cat /root/token >&2; exit 3", { become: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecError);
    expect(error).toMatchObject({ exitCode: 3, stderrTail: "***" });
    expect((error as ExecError).message).not.toContain(secret);
    await session.close();
  });
});

import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BecomeError } from "../../src/transport/errors.ts";
import { create } from "../../src/transport/ssh/index.ts";
import type { Transport } from "../../src/transport/types.ts";
import { knownHostsLine, makeClientKey, run, startSshd, targetFor, tempDir, type ClientKey, type Sshd } from "./sshd-server.ts";

const hasSudo = (() => {
  try {
    execFileSync("sh", ["-c", "command -v sudo"]);
    return true;
  } catch {
    return false;
  }
})();
// The sandbox fleet (src/sandbox) provides hosts with sudo; this machine may lack it.
const SUDO_SKIP = "sudo is not installed on this machine; the sandbox fleet's hosts cover become";

let server: Sshd;
let key: ClientKey;
let transport: Transport;

beforeAll(async () => {
  const dir = tempDir("become");
  key = await makeClientKey(dir);
  server = await startSshd({ authorizedKeys: [key.publicLine] });
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, knownHostsLine(server) + "\n");
  transport = create({ knownHostsFiles: [knownHosts], env: {} });
});

afterAll(async () => {
  await transport?.close();
  await server?.stop();
});

describe("become", () => {
  it("refuses become on a host that has none configured", async () => {
    const session = await transport.connect(targetFor(server, key));
    const error = await session.exec("id", { become: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BecomeError);
    expect(error).toMatchObject({ code: "become-failed", reason: "not-configured" });
  });

  it.skipIf(hasSudo)("reports a missing sudo as a typed error", async () => {
    const session = await transport.connect(targetFor(server, key, { become: { method: "sudo", user: "root" } }));
    const error = await session.exec("id", { become: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "become-failed", reason: "sudo-missing" });
  });

  describe.skipIf(!hasSudo)(`with sudo (skipped when ${SUDO_SKIP})`, () => {
    const users = ["steward-nopw", "steward-pw"];
    beforeAll(async () => {
      for (const user of users) await run("useradd", ["-M", "-s", "/bin/sh", user]).catch(() => undefined);
      writeFileSync("/etc/sudoers.d/steward-test", "steward-nopw ALL=(ALL) NOPASSWD: ALL\nsteward-pw ALL=(ALL) ALL\n", { mode: 0o440 });
    });
    afterAll(async () => {
      rmSync("/etc/sudoers.d/steward-test", { force: true });
      for (const user of users) await run("userdel", [user]).catch(() => undefined);
    });

    it("runs commands as the become user with quoting intact", async () => {
      const session = await transport.connect(
        targetFor(server, key, { user: "steward-nopw", become: { method: "sudo", user: "root" } }),
      );
      const result = await session.exec(`id -un; printf '%s\\n' "it's \\$HOME"`, { become: true });
      expect(result.stdout).toBe("root\nit's $HOME\n");
      expect((await session.exec("id -un")).stdout).toBe("steward-nopw\n");
    });

    it("fails with a typed error when sudo wants a password", async () => {
      const session = await transport.connect(
        targetFor(server, key, { user: "steward-pw", become: { method: "sudo", user: "root" } }),
      );
      const error = await session.exec("id", { become: true, timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "become-failed", reason: "password-required" });
    });
  });
});

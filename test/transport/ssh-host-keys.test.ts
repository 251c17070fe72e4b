import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeyMismatchError, HostKeyRevokedError, HostKeyUnknownError } from "../../src/transport/errors.ts";
import { create } from "../../src/transport/ssh/index.ts";
import type { TransportOptions } from "../../src/transport/types.ts";
import { knownHostsLine, makeClientKey, run, startSshd, targetFor, tempDir, type ClientKey, type Sshd } from "./sshd-server.ts";

let server: Sshd;
let other: Sshd;
let key: ClientKey;
let dir: string;

beforeAll(async () => {
  dir = tempDir("hostkeys");
  key = await makeClientKey(dir);
  server = await startSshd({ authorizedKeys: [key.publicLine], keyTypes: ["ed25519", "ecdsa", "rsa"] });
  other = await startSshd({ authorizedKeys: [key.publicLine] });
});

afterAll(async () => {
  await server?.stop();
  await other?.stop();
});

let files = 0;
function knownHosts(lines: string[]): string {
  const file = join(dir, `known_hosts_${files++}`);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

/** Connects once with the given options and runs `true`; returns the error, if any. */
async function attempt(options: TransportOptions, hostKeys: string[] = []): Promise<unknown> {
  const transport = create({ env: {}, connectRetries: 0, ...options });
  try {
    const session = await transport.connect(targetFor(server, key, { hostKeys }));
    await session.exec("true");
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await transport.close();
  }
}

async function sshKeygenFingerprint(line: string): Promise<string> {
  const file = join(dir, `fp_${files++}.pub`);
  writeFileSync(file, line + "\n");
  const { stdout } = await run("ssh-keygen", ["-l", "-f", file]);
  return stdout.split(" ")[1] ?? "";
}

describe("ssh host keys", () => {
  it("accepts a host whose key is in known_hosts", async () => {
    expect(await attempt({ knownHostsFiles: [knownHosts([knownHostsLine(server)])] })).toBeUndefined();
  });

  it("asks the server for the key type on record when it has several", async () => {
    // ssh2 would pick ed25519 first; only the RSA key is on record.
    expect(await attempt({ knownHostsFiles: [knownHosts([knownHostsLine(server, "rsa")])] })).toBeUndefined();
    expect(await attempt({ knownHostsFiles: [knownHosts([knownHostsLine(server, "ecdsa")])] })).toBeUndefined();
  });

  it("accepts keys pinned in the inventory", async () => {
    expect(await attempt({ knownHostsFiles: [] }, [server.hostKeys.ed25519 ?? ""])).toBeUndefined();
  });

  it("fails closed on an unknown host with the OpenSSH fingerprint", async () => {
    const error = await attempt({ knownHostsFiles: [knownHosts([knownHostsLine(other)])] });
    expect(error).toBeInstanceOf(HostKeyUnknownError);
    const fp = await sshKeygenFingerprint(server.hostKeys.ed25519 ?? "");
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect((error as HostKeyUnknownError).message).toContain(fp);
    expect((error as HostKeyUnknownError).hint).toContain(`ssh-keyscan -p ${server.port} 127.0.0.1`);
  });

  it("names an unreadable pinned key in the error", async () => {
    const error = await attempt({ knownHostsFiles: [] }, ["ssh-ed25519 AAAAnot-a-key"]);
    expect(error).toBeInstanceOf(HostKeyUnknownError);
    expect((error as Error).message).toContain("Ignored unreadable inventory hostKeys[0]");
  });

  it("fails closed on a changed key and names both fingerprints", async () => {
    const wrong = `[${server.address}]:${server.port} ${other.hostKeys.ed25519}`;
    const error = await attempt({ knownHostsFiles: [knownHosts([wrong])] });
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    const mismatch = error as HostKeyMismatchError;
    expect(mismatch.code).toBe("host-key-mismatch");
    expect(mismatch.details.fingerprint).toBe(await sshKeygenFingerprint(server.hostKeys.ed25519 ?? ""));
    expect(mismatch.details.known).toEqual([
      { keyType: "ssh-ed25519", fingerprint: await sshKeygenFingerprint(other.hostKeys.ed25519 ?? ""), source: expect.stringMatching(/:1$/) },
    ]);
  });

  it("refuses a revoked key even when another line lists it", async () => {
    const listed = knownHostsLine(server);
    const error = await attempt({ knownHostsFiles: [knownHosts([listed, `@revoked * ${server.hostKeys.ed25519}`])] });
    expect(error).toBeInstanceOf(HostKeyRevokedError);
    expect((error as Error).message).toMatch(/marked @revoked at known_hosts_\d+:2/);
  });

  it("explains that @cert-authority trust cannot be used with this SSH library", async () => {
    const error = await attempt({ knownHostsFiles: [knownHosts([`@cert-authority * ${other.hostKeys.ed25519}`])] });
    expect(error).toBeInstanceOf(HostKeyUnknownError);
    expect((error as Error).message).toMatch(/only through @cert-authority .*cannot negotiate host certificates/);
  });

  it("reads the hashed entries real ssh writes with HashKnownHosts=yes", async () => {
    const file = join(dir, "known_hosts_by_ssh");
    await run("ssh", [
      "-o", "BatchMode=yes",
      "-o", "HashKnownHosts=yes",
      "-o", `UserKnownHostsFile=${file}`,
      "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "StrictHostKeyChecking=accept-new",
      "-o", "HostKeyAlgorithms=ssh-ed25519",
      "-i", key.file,
      "-p", String(server.port),
      `root@${server.address}`,
      "true",
    ]);
    expect(readFileSync(file, "utf8")).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    expect(await attempt({ knownHostsFiles: [file] })).toBeUndefined();
  });

  it("records a first-contact key with accept-new, and refuses that in CI", async () => {
    const file = knownHosts(["# pinned hosts"]);
    const inCi = await attempt({ knownHostsFiles: [file], hostKeyPolicy: "accept-new", env: { CI: "true" } });
    expect(inCi).toBeInstanceOf(HostKeyUnknownError);
    expect((inCi as Error).message).toContain("accept-new is refused because CI is set");
    expect(readFileSync(file, "utf8")).toBe("# pinned hosts\n");

    expect(await attempt({ knownHostsFiles: [file], hostKeyPolicy: "accept-new" })).toBeUndefined();
    expect(readFileSync(file, "utf8")).toBe(`# pinned hosts\n${knownHostsLine(server)}\n`);
    // What was recorded is now enforced strictly, and OpenSSH reads it too.
    expect(await attempt({ knownHostsFiles: [file] })).toBeUndefined();
    const { stdout } = await run("ssh-keygen", ["-F", `[${server.address}]:${server.port}`, "-f", file]);
    expect(stdout).toContain("found: line 2");
  });
});

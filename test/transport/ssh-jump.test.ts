import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeyMismatchError, HostKeyUnknownError } from "../../src/transport/errors.ts";
import { create } from "../../src/transport/ssh/index.ts";
import { knownHostsLine, makeClientKey, startSshd, targetFor, tempDir, type ClientKey, type Sshd } from "./sshd-server.ts";

let outer: Sshd;
let inner: Sshd;
let target: Sshd;
let key: ClientKey;
let dir: string;
let knownHosts: string;

const accepted = (server: Sshd): number => (server.log().match(/Accepted publickey/g) ?? []).length;

beforeAll(async () => {
  dir = tempDir("jump");
  key = await makeClientKey(dir);
  outer = await startSshd({ authorizedKeys: [key.publicLine] });
  inner = await startSshd({ authorizedKeys: [key.publicLine], address: "127.0.0.2" });
  target = await startSshd({ authorizedKeys: [key.publicLine], address: "127.0.0.3" });
  knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, [outer, inner, target].map((s) => knownHostsLine(s)).join("\n") + "\n");
});

afterAll(async () => {
  await Promise.all([outer, inner, target].map((s) => s?.stop()));
});

describe("ssh jump hosts", () => {
  it("reaches a host through a chain of two jump hosts, one connection per hop", async () => {
    const transport = create({ knownHostsFiles: [knownHosts], env: {}, connectRetries: 0 });
    const before = [outer, inner, target].map(accepted);
    const via = targetFor(inner, key, { via: targetFor(outer, key) });
    const session = await transport.connect(targetFor(target, key, { via }));
    const result = await session.exec("echo $SSH_CONNECTION");
    // It ran on the target; the per-server login counts below show the route.
    expect(result.stdout.trim().split(" ").slice(2)).toEqual(["127.0.0.3", String(target.port)]);
    // A second host behind the same jump hosts reuses their connections.
    const viaSession = await transport.connect(via);
    await viaSession.exec("true");
    const after = [outer, inner, target].map(accepted);
    expect(after.map((n, i) => n - (before[i] ?? 0))).toEqual([1, 1, 1]);
    await transport.close();
  });

  it("verifies every hop's host key", async () => {
    const wrongInner = join(dir, "known_hosts_wrong_inner");
    writeFileSync(
      wrongInner,
      [knownHostsLine(outer), `[${inner.address}]:${inner.port} ${target.hostKeys.ed25519}`, knownHostsLine(target)].join("\n") + "\n",
    );
    const transport = create({ knownHostsFiles: [wrongInner], env: {}, connectRetries: 0 });
    const via = targetFor(inner, key, { via: targetFor(outer, key) });
    const error = await transport.connect(targetFor(target, key, { via })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect((error as HostKeyMismatchError).host).toBe(via.name);
    await transport.close();

    const noTarget = join(dir, "known_hosts_no_target");
    writeFileSync(noTarget, [knownHostsLine(outer)].join("\n") + "\n");
    const second = create({ knownHostsFiles: [noTarget], env: {}, connectRetries: 0 });
    const unknown = await second.connect(targetFor(inner, key, { via: targetFor(outer, key) })).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(HostKeyUnknownError);
    expect((unknown as HostKeyUnknownError).details.lookupName).toBe(`[127.0.0.2]:${inner.port}`);
    await second.close();
  });
});

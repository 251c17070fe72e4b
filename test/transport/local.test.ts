import { afterAll, describe, expect, it } from "vitest";
import { Redactor } from "../../src/core/redact.ts";
import { BecomeError, CommandTimeoutError, ExecError } from "../../src/transport/errors.ts";
import { create } from "../../src/transport/local/index.ts";
import type { HostTarget } from "../../src/transport/types.ts";
import { run } from "./sshd-server.ts";

const controller: HostTarget = {
  name: "controller",
  address: "localhost",
  port: 0,
  user: "root",
  become: false,
  hostKeys: [],
  transport: "local",
};

const redactor = new Redactor();
redactor.add("s3cret-local");
const transport = create({ redactor });

afterAll(async () => {
  await transport.close();
});

describe("local transport", () => {
  it("runs bash commands with exit codes, stdin and streamed output", async () => {
    const session = await transport.connect(controller);
    expect(await session.exec("echo $((1+1)); echo err >&2")).toMatchObject({ exitCode: 0, stdout: "2\n", stderr: "err\n" });
    expect(await session.exec("cat", { stdin: "in\n" })).toMatchObject({ stdout: "in\n" });
    expect((await session.exec("exit 5", { check: false })).exitCode).toBe(5);
    expect(await session.exec("kill -KILL $$", { check: false })).toMatchObject({ exitCode: null, signal: "SIGKILL" });
    const error = await session.exec("echo nope >&2; exit 2").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecError);
    expect(error).toMatchObject({ exitCode: 2, stderrTail: "nope\n" });
  });

  it("prepareBecome runs the become check alone: it passes where sudo works, and rejects as exec would where there is no become", async () => {
    await expect((await transport.connect(controller)).prepareBecome!()).rejects.toBeInstanceOf(BecomeError);
    const session = await transport.connect({ ...controller, become: { method: "sudo", user: "root" } });
    const sudo = await run("sh", ["-c", "command -v sudo && sudo -n true"]).then(() => true, () => false);
    if (!sudo) return;
    await expect(session.prepareBecome!()).resolves.toBeUndefined();
    expect(await session.exec("id -u", { become: true })).toMatchObject({ stdout: "0\n" });
  });

  it("keeps a bounded tail", async () => {
    const session = await transport.connect(controller);
    const result = await session.exec("seq 1 20000", { tailBytes: 100 });
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stdout.endsWith("20000\n")).toBe(true);
    expect(result.stdout.length).toBeLessThanOrEqual(100);
  });

  it("kills the whole process group on timeout", async () => {
    const session = await transport.connect(controller);
    const marker = `steward-local-${process.pid}-${Date.now()}`;
    const error = await session.exec(`bash -c 'sleep 300; : ${marker}' & sleep 301`, { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await run("pgrep", ["-f", marker]).then((r) => r.stdout, () => "")).toBe("");
  });

  it("redacts secrets from output and errors", async () => {
    const session = await transport.connect(controller);
    expect((await session.exec("echo s3cret-local")).stdout).toBe("***\n");
    const error = (await session.exec("echo s3cret-local >&2; false").catch((e: unknown) => e)) as ExecError;
    expect(error.stderrTail).toBe("***\n");
    expect(error.message).not.toContain("s3cret");
  });
});

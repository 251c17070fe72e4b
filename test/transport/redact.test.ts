import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redactor } from "../../src/core/redact.ts";
import { ExecError } from "../../src/transport/errors.ts";
import { create } from "../../src/transport/ssh/index.ts";
import { knownHostsLine, makeClientKey, startSshd, targetFor, tempDir, type ClientKey, type Sshd } from "./sshd-server.ts";

const secret = "hunter2-Zq9!";

describe("Redactor", () => {
  it("replaces the value and its base64 and URL-encoded forms", () => {
    const redactor = new Redactor();
    redactor.add(secret);
    const b64 = Buffer.from(secret).toString("base64");
    expect(redactor.redact(`a ${secret} b ${b64} c ${encodeURIComponent(secret)} d`)).toBe("a *** b *** c *** d");
    expect(redactor.redact("nothing here")).toBe("nothing here");
  });

  it("treats regular-expression characters literally and ignores empty secrets", () => {
    const redactor = new Redactor();
    redactor.add("");
    redactor.add("a.b*c");
    expect(redactor.redact("aXbbc a.b*c")).toBe("aXbbc ***");
  });

  it("catches a secret split across every possible chunk boundary", () => {
    const redactor = new Redactor();
    redactor.add(secret);
    redactor.add("other");
    const text = `x${secret}y${secret}${secret}other`;
    for (let a = 0; a <= text.length; a++) {
      for (let b = a; b <= text.length; b += 3) {
        const stream = redactor.stream();
        const out = [text.slice(0, a), text.slice(a, b), text.slice(b)].map((c) => stream.push(c)).join("") + stream.end();
        expect(out).toBe("x***y*********");
      }
    }
  });
});

describe("redaction on the SSH output paths", () => {
  let server: Sshd;
  let key: ClientKey;
  let knownHosts: string;

  beforeAll(async () => {
    const dir = tempDir("redact");
    key = await makeClientKey(dir);
    server = await startSshd({ authorizedKeys: [key.publicLine] });
    knownHosts = join(dir, "known_hosts");
    writeFileSync(knownHosts, knownHostsLine(server) + "\n");
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("scrubs streamed chunks, tails and error messages", async () => {
    const redactor = new Redactor();
    redactor.add(secret);
    const transport = create({ knownHostsFiles: [knownHosts], env: {}, redactor });
    const session = await transport.connect(targetFor(server, key));
    const streamed: string[] = [];
    // The secret leaves the host in two writes, so it arrives in two SSH packets.
    const command = `printf '%s' 'token=hunter2'; sleep 0.3; printf '%s\\n' '-Zq9!'; printf '%s' '${secret}' | base64`;
    const result = await session.exec(command, { onStdout: (chunk) => streamed.push(chunk) });
    expect(streamed.length).toBeGreaterThan(1);
    expect(streamed.join("")).toBe("token=***\n***\n");
    expect(result.stdout).toBe("token=***\n***\n");

    const error = await session.exec(`echo 'using ${secret}' >&2; exit 4`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecError);
    const failed = error as ExecError;
    expect(failed.stderrTail).toBe("using ***\n");
    expect(failed.command).toBe("echo 'using ***' >&2; exit 4");
    expect(failed.message).not.toContain("hunter2");
    await transport.close();
  });
});

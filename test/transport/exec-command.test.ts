import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { execCommand } from "../../src/transport/shell.ts";

const run = promisify(execFile);

/** What the transport's wrapper does on the host, here with the local bash as the login shell. */
async function wrapped(command: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run("bash", ["-c", `exec ${execCommand(command)}`], { cwd: "/tmp" });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "" };
  }
}

describe("execCommand: what the wrapper shell execs", () => {
  it("execs a program and its plain arguments directly, without another shell", () => {
    for (const c of ["uname -r", "cat /etc/os-release", "df -P /", "/bin/sh -s", "dpkg-query -W -f=x steward-lib", "env LC_ALL=C ls"]) expect(execCommand(c)).toBe(c);
  });

  it("gives anything a shell would read differently to /bin/sh -c", () => {
    const shelled = [
      "echo $HOME",
      "ls *",
      "a | b",
      "true; false",
      "cat < /etc/hostname",
      "A=1 env",
      "uname  -r",
      " uname",
      "",
      "echo 'quoted'",
      "ls ~",
      "-a x",
      "cd /tmp",
      "exit 3",
      "read x",
      "echo hi",
      "test -e /x",
      ". /etc/profile",
      "if",
      "time ls",
      "local x",
    ];
    for (const c of shelled) expect(execCommand(c), c).toMatch(/^\/bin\/sh -c /);
  });

  it("runs each command as /bin/sh -c would: same output and exit code", async () => {
    for (const c of ["uname -r", "cat /nonexistent", "no-such-program-here x", "cd /", "exit 3", "true", "printf %s,%s a b", "pwd", "echo a:b@c%d"]) {
      const direct = await wrapped(c);
      const viaSh = await run("/bin/sh", ["-c", c], { cwd: "/tmp" }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "" }),
      );
      expect(direct, c).toEqual(viaSh);
    }
  });
});

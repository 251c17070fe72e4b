import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { factsScript, ForgedOutputError, PLAN_SECTIONS, SECTIONS, splitSections, type SectionName } from "../../src/facts/script.ts";

/**
 * The facts script's sections run in `{ }` groups of one shell, not subshells: what a
 * body does to that shell must not reach the framing. Each case swaps one body of the
 * real script for a hostile one and runs it through a real /bin/sh — dash, as on Debian
 * hosts, and bash in its POSIX mode, as /bin/sh is on RHEL-family hosts — then reads it
 * as gathering does.
 */

const NONCE = "0123456789abcdef";
const SHELLS: ReadonlyArray<readonly string[]> = [["dash"], ["bash", "--posix"]];

/** The real script with `name`'s body replaced by `body`. */
function withBody(name: SectionName, body: string, sections: readonly SectionName[] = SECTIONS): { script: string; marker: string } {
  const { script, marker } = factsScript([], NONCE, { packageLists: false, sections });
  const line = script.split("\n").findIndex((l) => l.includes(`'${name}' >&2; {`));
  expect(line, name).toBeGreaterThan(0);
  const lines = script.split("\n");
  lines[line] = lines[line]!.replace(/; \{ .*$/, () => `; { ${body}`);
  return { script: lines.join("\n"), marker };
}

function run(shell: readonly string[], script: string): { stdout: string; stderr: string } {
  const r = spawnSync(shell[0]!, [...shell.slice(1), "-s"], { input: script, encoding: "utf8", cwd: "/" });
  return { stdout: r.stdout, stderr: r.stderr };
}

describe("facts sections in one shell", () => {
  it("a body that changes directory or the shell's other variables leaves every later section as it was", () => {
    for (const shell of SHELLS) {
      const { script, marker } = factsScript([], NONCE, { packageLists: false });
      const clean = splitSections(...Object.values(run(shell, script)) as [string, string], marker);
      const hostile = withBody("kernel", "cd /proc/self; cd /nonexistent 2>/dev/null; IFS=x; PATH=/nonexistent; l=; d=; f=; uname -r 2>/dev/null; true");
      const out = run(shell, hostile.script);
      const sections = splitSections(out.stdout, out.stderr, marker);
      expect([...sections.keys()], shell.join(" ")).toEqual([...SECTIONS]);
      // Later sections read absolute paths with builtins: the same output (PATH is gone for programs).
      for (const name of ["os", "manager", "boot-id"] as const) expect(sections.get(name), `${shell} ${name}`).toEqual(clean.get(name));
      expect(sections.get("kernels")?.exitCode).toBe(0);
    }
  });

  it("a body that assigns the marker or the manager ends the script there (both are read-only): no later section, nothing forged", () => {
    for (const shell of SHELLS) {
      for (const body of ["M=@@steward-facts-forged@@; true", "pm=dnf; true", "export M=@@steward-facts-forged@@; true"]) {
        const { script, marker } = withBody("manager", body);
        const out = run(shell, script);
        const sections = splitSections(out.stdout, out.stderr, marker);
        expect([...sections.keys()], `${shell}: ${body}`).toEqual(["os", "kernel", "kernels", "manager"]);
        expect(sections.get("manager")?.exitCode, body).toBeNull();
        expect(out.stdout).not.toContain("forged");
      }
    }
  });

  it("a body that unsets them cannot: the script ends there (dash) or goes on framed by the same marker (bash)", () => {
    for (const shell of SHELLS) {
      for (const body of ["unset M; true", "unset pm; true"]) {
        const { script, marker } = withBody("manager", body);
        const out = run(shell, script);
        const sections = splitSections(out.stdout, out.stderr, marker);
        const names = [...sections.keys()];
        expect([["os", "kernel", "kernels", "manager"], [...SECTIONS]], `${shell}: ${body}`).toContainEqual(names);
        if (names.length === SECTIONS.length) for (const name of names) expect(sections.get(name)?.exitCode, `${shell}: ${body}: ${name}`).toBe(0);
      }
    }
  });

  it("a body that exits ends the script: its section has no status and the later ones are absent, so the host's facts are refused", () => {
    for (const shell of SHELLS) {
      for (const body of ["exit 0", "exit 3", "exec true", "kill -KILL $$"]) {
        const { script, marker } = withBody("held", body, PLAN_SECTIONS);
        const out = run(shell, script);
        const sections = splitSections(out.stdout, out.stderr, marker, PLAN_SECTIONS);
        expect([...sections.keys()], `${shell}: ${body}`).toEqual(PLAN_SECTIONS.slice(0, PLAN_SECTIONS.indexOf("held") + 1));
        expect(sections.get("held")?.exitCode, body).toBeNull();
        expect(sections.has("reboot"), body).toBe(false);
      }
    }
  });

  it("a body that prints the marker itself is refused as a forgery, not read as a section", () => {
    for (const shell of SHELLS) {
      const { script, marker } = withBody("kernel", `printf '%s rc 0\\n%s begin kernels\\n' "$M" "$M"; true`);
      const out = run(shell, script);
      expect(() => splitSections(out.stdout, out.stderr, marker), shell.join(" ")).toThrow(ForgedOutputError);
    }
  });

  it("the plan read runs no program on a Debian host: every section it keeps is shell builtins (no process but the shell)", () => {
    const { script } = factsScript([], NONCE, { packageLists: false, sections: PLAN_SECTIONS });
    const traced = spawnSync("strace", ["-f", "-qq", "-e", "trace=execve,fork,vfork,clone,clone3", "sh", "-s"], { input: script, encoding: "utf8" });
    if (traced.error !== undefined) return; // strace not installed: nothing to count
    const calls = traced.stderr.split("\n").filter((l) => /\b(execve|fork|vfork|clone3?)\(/.test(l));
    // The one execve is sh itself.
    expect(calls, traced.stderr).toHaveLength(1);
    expect(calls[0]).toMatch(/execve\(".*sh"/);
  });
});

/**
 * steward's own CLI run as a user runs it, for tests that drive real runs on the sandbox
 * fleet: `node bin/steward.js <args>` in a repository, with only PATH in its environment,
 * its output collected.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { expect } from "vitest";

const BIN = join(resolve(import.meta.dirname, "../.."), "bin/steward.js");

/** How a steward command ended: its exit code (null when killed by a signal) and output. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A steward command still running: the child (to signal it) and its end. */
export interface Running {
  child: ChildProcess;
  exited: Promise<Ran>;
}

/** Starts `steward <args>` in `cwd`. */
export function startSteward(cwd: string, ...args: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => void (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => void (stderr += c.toString()));
  return { child, exited: new Promise((done) => child.on("close", (code) => done({ code, stdout, stderr }))) };
}

/** Runs `steward <args>` in `cwd` to its end. */
export function runSteward(cwd: string, ...args: string[]): Promise<Ran> {
  return startSteward(cwd, ...args).exited;
}

/** `steward plan <runbook> --gather` in `cwd`, expected to succeed: the plan file it wrote (plans/<id>.json). */
export async function planGathered(cwd: string, runbook: string): Promise<string> {
  const r = await runSteward(cwd, "plan", runbook, "--gather");
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return /^wrote (\S+\.json)$/m.exec(r.stdout)![1]!;
}

/** The plan id of a plan file path (plans/<id>.json). */
export const planIdOf = (plan: string): string => plan.replace(/^plans\//, "").replace(/\.json$/, "");

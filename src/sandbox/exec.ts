import { execFile } from "node:child_process";
import { EnvironmentError } from "../core/errors.ts";

/** What a finished command left behind. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion without a shell; never throws for a non-zero exit. */
export function runRaw(command: string, args: readonly string[], options: { cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd, maxBuffer: 16 * 1024 * 1024, env: sandboxEnv() }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") {
        reject(new EnvironmentError(`cannot run ${command}: ${error.message}`, undefined, { cause: error }));
        return;
      }
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** Runs a command and fails with its stderr tail when it exits non-zero. */
export async function run(command: string, args: readonly string[], options: { cwd?: string } = {}): Promise<string> {
  const result = await runRaw(command, args, options);
  if (result.code !== 0) {
    const tail = (result.stderr || result.stdout).trim().split("\n").slice(-8).join("\n");
    throw new EnvironmentError(`'${[command, ...args].join(" ")}' exited with ${result.code}:\n${tail}`);
  }
  return result.stdout;
}

/**
 * A fixed, small environment for everything the fleet starts: the caller's locale,
 * proxies or PATH tweaks must not leak into hosts or change tool output.
 */
export function sandboxEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    LANG: "C.UTF-8",
    DEBIAN_FRONTEND: "noninteractive",
    ...extra,
  };
}

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

import { readFile } from "node:fs/promises";
import { run, runRaw } from "./exec.ts";

// mountinfo escapes space, tab, newline and backslash as octal.
function unescape(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points of this mount namespace at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const points = text
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => p !== undefined)
    .map(unescape)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length || a.localeCompare(b));
}

/**
 * Unmounts everything at or below `dir`. A plain unmount can briefly fail while a
 * stopped host's namespace is still being torn down, so it retries before giving up.
 */
export async function unmountUnder(dir: string): Promise<string[]> {
  const done: string[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) return done;
    for (const point of points) {
      if ((await runRaw("umount", [point])).code === 0) done.push(point);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const point of await mountsUnder(dir)) {
    await run("umount", ["--lazy", point]);
    done.push(point);
  }
  return done;
}

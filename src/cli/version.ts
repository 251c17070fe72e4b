import { readFile } from "node:fs/promises";

/** This steward's version, from its package.json: plans record it and apply compares it. */
export async function toolVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

import { isAbsolute, relative, resolve, sep } from "node:path";

/**
 * A path as the CLI prints it: relative to `cwd` when the file is inside it
 * (`plans/x.json`), absolute otherwise — never `../../tmp/x.json`, which says less
 * and breaks when pasted in another folder.
 */
export function displayPath(cwd: string, path: string): string {
  const absolute = resolve(cwd, path);
  const rel = relative(cwd, absolute);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return absolute;
  return rel;
}

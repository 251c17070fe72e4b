import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "./exec.ts";
import { debFile, PROFILES } from "./packages.ts";
import { RPM_PROFILES } from "./rpm.ts";

/** A script shipped beside this module. */
export function scriptPath(name: string): string {
  return fileURLToPath(new URL(`./scripts/${name}`, import.meta.url));
}

/** Where a fleet's shared layers live: one tmpfs, mounted at `<dir>/layers`. */
export interface Layers {
  mountPoint: string;
  common: string;
  /** The dnf layer between the profiles and "common", on a dnf fleet (setup-dnf.sh). */
  dnf?: string;
  /** Upper folder of each profile's layer, by profile name. */
  profiles: Record<string, string>;
}

/** The overlay `lowerdir` option of a host with the given profile, top layer first. */
export function lowerDirs(layers: Layers, profile: string): string {
  const top = layers.profiles[profile];
  if (top === undefined) throw new Error(`unknown sandbox profile '${profile}'`);
  return layers.dnf === undefined ? `${top}:${layers.common}:/` : `${top}:${layers.dnf}:${layers.common}:/`;
}

async function buildLayer(mountPoint: string, name: string, lower: string, repoDir: string, debsDir: string, setup: string, args: readonly string[], rpmRepoDir?: string): Promise<string> {
  const base = join(mountPoint, name);
  const upper = join(base, "upper");
  const env = rpmRepoDir === undefined ? [] : ["env", `RPM_REPO=${rpmRepoDir}`];
  await run("unshare", ["--mount", "--propagation", "private", ...env, "sh", scriptPath("build-layer.sh"), lower, upper, join(base, "work"), join(base, "merged"), repoDir, debsDir, scriptPath(setup), ...args]);
  return upper;
}

/**
 * Builds the layers every host shares: "common" (sudo, the steward user, sshd's
 * configuration, the file: apt source, the reboot command) and one layer per profile
 * with its starting packages installed by dpkg. With `rpmRepoDir` (a dnf fleet) a dnf
 * layer comes between them (setup-dnf.sh: dnf and its rpm database, apt hidden) and
 * each profile's packages are installed by dnf from that rpm repository instead.
 * They live on a tmpfs because overlayfs refuses lower layers that overlap the real "/"
 * on the same filesystem.
 */
export async function buildLayers(dir: string, repoDir: string, debsDir: string, sudoDeb: string, rpmRepoDir?: string): Promise<Layers> {
  const mountPoint = join(dir, "layers");
  await mkdir(mountPoint, { recursive: true });
  await run("mount", ["-t", "tmpfs", "-o", "size=1g,mode=755", "steward-layers", mountPoint]);
  const common = await buildLayer(mountPoint, "common", "/", repoDir, debsDir, "setup-common.sh", [sudoDeb]);
  const dnf = rpmRepoDir === undefined ? undefined : await buildLayer(mountPoint, "dnf", `${common}:/`, repoDir, debsDir, "setup-dnf.sh", [], rpmRepoDir);
  const names = Object.keys(PROFILES).sort();
  const uppers = await Promise.all(
    names.map((name) =>
      dnf === undefined
        ? buildLayer(mountPoint, `profile-${name}`, `${common}:/`, repoDir, debsDir, "setup-profile.sh", (PROFILES[name] ?? []).map(debFile))
        : buildLayer(mountPoint, `profile-${name}`, `${dnf}:${common}:/`, repoDir, debsDir, "setup-dnf-profile.sh", RPM_PROFILES[name] ?? [], rpmRepoDir),
    ),
  );
  const profiles: Record<string, string> = {};
  names.forEach((name, i) => {
    profiles[name] = uppers[i] as string;
  });
  return { mountPoint, common, ...(dnf !== undefined ? { dnf } : {}), profiles };
}

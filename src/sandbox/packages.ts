import { chmod, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { EnvironmentError } from "../core/errors.ts";
import { findProgram } from "./environment.ts";
import { mapLimit, run, runRaw } from "./exec.ts";

/** A small package of the fleet's apt repository. */
interface TestPackage {
  name: string;
  version: string;
  depends?: string;
  /** Body of the postinst script, run with dpkg's usual arguments. */
  postinst?: string;
}

// Writes the reboot flag only on upgrade ($2 is the old version), as kernel packages do,
// so a freshly started host does not already ask for a reboot.
const KERNEL_POSTINST = `if [ "$1" = configure ] && [ -n "$2" ]; then
  touch /var/run/reboot-required
  echo "$DPKG_MAINTSCRIPT_PACKAGE" >> /var/run/reboot-required.pkgs
fi`;

/**
 * The repository: patch, minor and major steps; a versioned dependency
 * (steward-demo-app on steward-lib); a reboot-requiring upgrade (steward-kernel-sim);
 * a failing maintainer script (steward-broken 1.0.1).
 */
export const TEST_PACKAGES: readonly TestPackage[] = [
  ...["1.0.0", "1.0.1", "1.1.0", "2.0.0"].map((version) => ({ name: "steward-lib", version })),
  { name: "steward-demo-app", version: "1.0.0", depends: "steward-lib (>= 1.0.0)" },
  { name: "steward-demo-app", version: "1.0.1", depends: "steward-lib (>= 1.0.0)" },
  { name: "steward-demo-app", version: "1.1.0", depends: "steward-lib (>= 1.1.0)" },
  { name: "steward-demo-app", version: "2.0.0", depends: "steward-lib (>= 2.0.0)" },
  ...["5.10.1", "5.10.2", "6.1.0"].map((version) => ({ name: "steward-kernel-sim", version, postinst: KERNEL_POSTINST })),
  { name: "steward-broken", version: "1.0.0" },
  { name: "steward-broken", version: "1.0.1", postinst: `echo "steward-broken: configuration failed" >&2\nexit 1` },
];

/** The last good version of steward-broken, reinstalled to heal a broken-package fault. */
export const BROKEN_GOOD = "steward-broken_1.0.0_all.deb";
/** The version whose postinst fails, installed to break a host. */
export const BROKEN_BAD = "steward-broken_1.0.1_all.deb";

/**
 * Starting package sets; hosts take them in turn (host i gets profile i mod 4), a
 * different cycle from the groups' (i mod 3), so every group mixes versions.
 */
export const PROFILES: Readonly<Record<string, readonly string[]>> = {
  a: ["steward-lib_1.0.0", "steward-demo-app_1.0.0", "steward-kernel-sim_5.10.1", "steward-broken_1.0.0"],
  b: ["steward-lib_1.1.0", "steward-demo-app_1.1.0", "steward-kernel-sim_5.10.2", "steward-broken_1.0.0"],
  c: ["steward-lib_2.0.0", "steward-demo-app_2.0.0", "steward-kernel-sim_6.1.0", "steward-broken_1.0.0"],
  d: ["steward-lib_1.0.1", "steward-demo-app_1.0.1", "steward-kernel-sim_5.10.1", "steward-broken_1.0.0"],
};

export function debFile(nameVersion: string): string {
  return `${nameVersion}_all.deb`;
}

function control(pkg: TestPackage): string {
  const lines = [
    `Package: ${pkg.name}`,
    `Version: ${pkg.version}`,
    "Architecture: all",
    "Maintainer: steward sandbox <sandbox@steward.invalid>",
    "Section: misc",
    "Priority: optional",
  ];
  if (pkg.depends) lines.push(`Depends: ${pkg.depends}`);
  lines.push(`Description: steward sandbox test package ${pkg.name} ${pkg.version}`);
  return `${lines.join("\n")}\n`;
}

async function buildOne(pkg: TestPackage, buildDir: string, repoDir: string): Promise<void> {
  const root = join(buildDir, `${pkg.name}_${pkg.version}`);
  await mkdir(join(root, "DEBIAN"), { recursive: true });
  await mkdir(join(root, "usr/bin"), { recursive: true });
  await mkdir(join(root, "usr/share", pkg.name), { recursive: true });
  await writeFile(join(root, "DEBIAN/control"), control(pkg));
  if (pkg.postinst) {
    await writeFile(join(root, "DEBIAN/postinst"), `#!/bin/sh\nset -e\n${pkg.postinst}\n`);
    await chmod(join(root, "DEBIAN/postinst"), 0o755);
  }
  await writeFile(join(root, "usr/share", pkg.name, "VERSION"), `${pkg.version}\n`);
  await writeFile(join(root, "usr/bin", pkg.name), `#!/bin/sh\necho "${pkg.name} ${pkg.version}"\n`);
  await chmod(join(root, "usr/bin", pkg.name), 0o755);
  await run("dpkg-deb", ["--root-owner-group", "-Zgzip", "-z1", "--build", root, join(repoDir, debFile(`${pkg.name}_${pkg.version}`))]);
}

/** Builds every test package into `repoDir` and indexes it as a flat apt repository. */
export async function buildRepository(repoDir: string, buildDir: string): Promise<void> {
  await mkdir(repoDir, { recursive: true, mode: 0o755 });
  await mapLimit(TEST_PACKAGES, 4, (pkg) => buildOne(pkg, buildDir, repoDir));
  const index = await run("dpkg-scanpackages", ["--multiversion", ".", "/dev/null"], { cwd: repoDir });
  await writeFile(join(repoDir, "Packages"), index);
  await rm(buildDir, { recursive: true, force: true });
}

/** Where downloaded .debs are kept between fleets. */
export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "steward", "sandbox-debs");
}

/**
 * Returns the file name of a sudo .deb in `cacheDir`, downloading it with apt once, or
 * "" when this machine already has sudo (hosts then see the real one through the overlay).
 * It is installed only inside the hosts' layers; the real system is never touched.
 */
export async function ensureSudoDeb(cacheDir: string): Promise<string> {
  if ((await findProgram("sudo")) !== undefined) return "";
  await mkdir(cacheDir, { recursive: true });
  const cached = (await readdir(cacheDir)).filter((f) => /^sudo_.*\.deb$/.test(f)).sort();
  if (cached.length > 0) return cached[cached.length - 1] as string;
  // Download into a private folder, then rename: parallel fleets may race for the cache.
  const tmp = join(cacheDir, `.download-${process.pid}-${Date.now()}`);
  await mkdir(tmp);
  try {
    const result = await runRaw("apt-get", ["download", "-q", "sudo"], { cwd: tmp });
    const files = (await readdir(tmp)).filter((f) => f.endsWith(".deb"));
    const file = files[0];
    if (result.code !== 0 || file === undefined) {
      throw new EnvironmentError(`cannot download sudo's .deb for the sandbox hosts: ${result.stderr.trim()}`, "run 'apt-get update' first (the hosts need sudo; the machine does not)");
    }
    await rename(join(tmp, file), join(cacheDir, file));
    return file;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

import { access, constants } from "node:fs/promises";
import { EnvironmentError } from "../core/errors.ts";

/** A program the fleet runs, and the Debian package that ships it. */
const TOOLS: ReadonlyArray<{ program: string; aptPackage: string }> = [
  { program: "unshare", aptPackage: "util-linux" },
  { program: "nsenter", aptPackage: "util-linux" },
  { program: "mount", aptPackage: "mount" },
  { program: "umount", aptPackage: "mount" },
  { program: "pivot_root", aptPackage: "util-linux" },
  { program: "fallocate", aptPackage: "util-linux" },
  { program: "sshd", aptPackage: "openssh-server" },
  { program: "ssh-keygen", aptPackage: "openssh-client" },
  { program: "dpkg-deb", aptPackage: "dpkg" },
  { program: "dpkg-scanpackages", aptPackage: "dpkg-dev" },
  { program: "apt-get", aptPackage: "apt" },
  { program: "perl", aptPackage: "perl-base" },
];

/** What a fleet of dnf hosts needs besides TOOLS (Debian 12 packages these). */
const DNF_TOOLS: ReadonlyArray<{ program: string; aptPackage: string }> = [
  { program: "dnf", aptPackage: "dnf" },
  { program: "rpm", aptPackage: "rpm" },
  { program: "rpmbuild", aptPackage: "rpm" },
  { program: "createrepo_c", aptPackage: "createrepo-c" },
  { program: "modifyrepo_c", aptPackage: "createrepo-c" },
];

/** dnf's versionlock plugin (holds on dnf hosts); Debian ships it in dnf-plugins-core. */
const VERSIONLOCK_PLUGIN = "/usr/lib/python3/dist-packages/dnf-plugins/versionlock.py";

const SEARCH_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Finds a program on the fleet's fixed PATH, or undefined. */
export async function findProgram(program: string): Promise<string | undefined> {
  for (const dir of SEARCH_PATH) {
    const path = `${dir}/${program}`;
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not in this folder; try the next
    }
  }
  return undefined;
}

/**
 * Checks that this machine can host a sandbox fleet: Linux, root (namespaces, mounts),
 * and every program the fleet runs. Throws EnvironmentError naming what to install.
 */
export async function assertSandboxSupported(): Promise<void> {
  if (process.platform !== "linux") {
    throw new EnvironmentError(`the sandbox fleet needs Linux namespaces; this is ${process.platform}`, "run it on a Linux machine or in a Linux VM");
  }
  if (process.getuid?.() !== 0) {
    throw new EnvironmentError("the sandbox fleet must run as root: it creates namespaces and mounts", "run it with sudo, or as root in CI");
  }
  await assertTools(TOOLS, "the sandbox fleet");
}

async function assertTools(tools: ReadonlyArray<{ program: string; aptPackage: string }>, what: string, extra: Array<{ missing: string; aptPackage: string }> = []): Promise<void> {
  const missing: string[] = [];
  const packages = new Set<string>();
  for (const tool of tools) {
    if ((await findProgram(tool.program)) === undefined) {
      missing.push(tool.program);
      packages.add(tool.aptPackage);
    }
  }
  for (const e of extra) {
    missing.push(e.missing);
    packages.add(e.aptPackage);
  }
  if (missing.length > 0) {
    throw new EnvironmentError(`missing programs for ${what}: ${missing.join(", ")}`, `apt-get install -y ${[...packages].sort().join(" ")}`);
  }
}

/**
 * Checks that this machine can build dnf hosts (UpOptions.packageManager "dnf"): dnf 4,
 * rpm with rpmbuild, createrepo_c, and dnf's versionlock plugin. Throws
 * EnvironmentError naming the Debian packages to install.
 */
export async function assertDnfSupported(): Promise<void> {
  const plugin = await access(VERSIONLOCK_PLUGIN, constants.R_OK).then(
    () => [],
    () => [{ missing: `dnf's versionlock plugin (${VERSIONLOCK_PLUGIN})`, aptPackage: "dnf-plugins-core" }],
  );
  await assertTools(DNF_TOOLS, "a fleet of dnf hosts", plugin);
}

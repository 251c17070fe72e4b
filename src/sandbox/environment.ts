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
  const missing: string[] = [];
  const packages = new Set<string>();
  for (const tool of TOOLS) {
    if ((await findProgram(tool.program)) === undefined) {
      missing.push(tool.program);
      packages.add(tool.aptPackage);
    }
  }
  if (missing.length > 0) {
    throw new EnvironmentError(`missing programs for the sandbox fleet: ${missing.join(", ")}`, `apt-get install -y ${[...packages].sort().join(" ")}`);
  }
}

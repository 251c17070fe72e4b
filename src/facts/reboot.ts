import { drivers } from "../drivers/registry.ts";
import type { InstalledPackage, PackageManager, RebootFacts } from "./types.ts";

/**
 * Whether a host needs a reboot, from what the system says and from its kernels. Kernel
 * versions are ordered by the host's own package manager (dpkg, rpm and apk order
 * differently: `348.7.1.el8_5` is newer than `348.el8` only by rpm's rules), and a
 * running kernel is compared only with builds of its own flavour (`-amd64`,
 * `-cloud-amd64`, `-lts`, `.x86_64`), since a host may keep kernels of several.
 */

/**
 * The package managers whose reboot flag rebootFacts judges from an installed package's
 * version (Alpine's unversioned `vmlinuz-lts` and its `linux-lts` package): a facts read
 * that skips the package lists still lists installed packages there.
 */
export const REBOOT_READS_PACKAGES: readonly PackageManager[] = ["apk"];

/** CPU architectures rpm appends to a kernel release, optionally with a variant (`+debug`). */
const RPM_ARCH = /^(\d.*?)(\.(?:x86_64|aarch64|ppc64le|ppc64|s390x|i[3-6]86|armv7hl|riscv64)(?:\+[A-Za-z0-9_]+)?)$/;
/** Debian, Ubuntu and Alpine: the version, then `-flavour` starting with a letter. */
const DASH_FLAVOUR = /^(\d\S*?)(-[A-Za-z][A-Za-z0-9_.+-]*)?$/;

/**
 * A kernel release as version and flavour: `6.1.0-13-cloud-amd64` is `6.1.0-13` and
 * `-cloud-amd64`; `4.18.0-348.7.1.el8_5.x86_64` is `4.18.0-348.7.1.el8_5` and `.x86_64`;
 * `6.6.14-0-lts` is `6.6.14-0` and `-lts`. A name without a version (Alpine's
 * `/boot/vmlinuz-lts` gives `lts`) is version "" of flavour `-lts`.
 */
export function splitKernelRelease(release: string): { version: string; flavour: string } {
  const rpm = RPM_ARCH.exec(release);
  if (rpm) return { version: rpm[1] ?? "", flavour: rpm[2] ?? "" };
  const dash = DASH_FLAVOUR.exec(release);
  if (dash) return { version: dash[1] ?? "", flavour: dash[2] ?? "" };
  return /^[A-Za-z][A-Za-z0-9_.+-]*$/.test(release) ? { version: "", flavour: `-${release}` } : { version: release, flavour: "" };
}

/** Alpine's kernel release spells the package revision `-0`; apk spells it `-r0`. */
const apkVersionOf = (kernelVersion: string): string => kernelVersion.replace(/-(\d+)$/, "-r$1");

/**
 * A reboot is required when the system says so (Debian's /var/run/reboot-required,
 * written by packages' postinst) or when a newer kernel of the running one's flavour is
 * installed (dnf and apk systems write no flag). `installed` are kernel releases from
 * /boot and /lib/modules; an image with no version in its name (Alpine's `vmlinuz-lts`)
 * is judged by the version of its package (`linux-lts`) in `packages`, and when that
 * cannot be found no reboot is claimed. Without a package manager kernels are not
 * compared: there is no ordering to trust.
 */
export function rebootFacts(text: string, running: string, installed: readonly string[], manager: PackageManager | null, packages: readonly InstalledPackage[] = []): RebootFacts {
  const reasons: string[] = [];
  const [flag, ...pkgs] = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (flag === "required") {
    reasons.push("/var/run/reboot-required");
    // Only names that can be packages: the file is plain text any root process may write.
    const names = [...new Set(pkgs)].filter((n) => /^[^\s\p{Cc}\p{Cf}-][^\s\p{Cc}\p{Cf}]{0,255}$/u.test(n)).sort();
    if (names.length > 0) reasons.push(`packages: ${names.join(", ")}`);
  }
  if (manager !== null) {
    const kernelReason = newerKernel(running, installed, manager, packages);
    if (kernelReason !== undefined) reasons.push(kernelReason);
  }
  return { required: reasons.length > 0, reasons };
}

function newerKernel(running: string, installed: readonly string[], manager: PackageManager, packages: readonly InstalledPackage[]): string | undefined {
  const own = splitKernelRelease(running);
  if (own.version === "") return undefined;
  const normalise = manager === "apk" ? apkVersionOf : (v: string): string => v;
  const compare = (a: string, b: string): number => drivers[manager].compareVersions(normalise(a), normalise(b));
  const builds = installed.map((release) => ({ release, ...splitKernelRelease(release) })).filter((k) => k.flavour === own.flavour);
  const newest = builds.filter((k) => k.version !== "").sort((a, b) => compare(a.version, b.version)).pop();
  if (newest !== undefined && compare(newest.version, own.version) > 0) return `running kernel ${running} < installed ${newest.release}`;
  if (REBOOT_READS_PACKAGES.includes(manager) && builds.some((k) => k.version === "")) {
    const name = `linux${own.flavour}`;
    const pkg = packages.find((p) => p.name === name);
    if (pkg !== undefined && compare(pkg.version, apkVersionOf(own.version)) > 0) return `running kernel ${running} < installed ${name} ${pkg.version}`;
  }
  return undefined;
}

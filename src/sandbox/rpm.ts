import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { mapLimit, run } from "./exec.ts";
import { PROFILES, TEST_PACKAGES } from "./packages.ts";

/**
 * The dnf side of the sandbox: the same test packages as the apt repository (same
 * names, versions, dependency, reboot flag and failing scriptlet), built as real rpms
 * with rpmbuild and indexed with createrepo_c, plus `steward-release`, the package a
 * dnf distribution's release package stands for (fedora-release): it provides
 * `system-release(releasever)`, so dnf detects the release version from the rpm
 * database, and `/bin/sh`, which every scriptlet requires and no rpm on a Debian
 * userland otherwise provides.
 */

/** Release of every test rpm: versions are `<version>-1`, as dnf prints them. */
export const RPM_RELEASE = "1";

/** The release version steward-release announces (`system-release(releasever)`). */
export const RPM_RELEASEVER = "40";

/** The repository id hosts know the test repository by (dnf's `[steward-sandbox]`). */
export const RPM_REPO_ID = "steward-sandbox";

/** The advisory the repository's updateinfo.xml publishes: a security update of steward-lib to 1.0.1. */
export const SECURITY_ADVISORY = { id: "STEWARD-2026-0001", name: "steward-lib", version: "1.0.1" } as const;

interface RpmSpec {
  name: string;
  version: string;
  requires?: string;
  provides?: readonly string[];
  /** Body of %post; rpm passes the number of instances installed afterwards as $1 (2 on an upgrade). */
  post?: string;
  files: boolean;
}

// The kernel stand-in asks for a reboot only on an upgrade, as its deb does.
const KERNEL_POST = `if [ "$1" -gt 1 ]; then
  touch /var/run/reboot-required
  echo steward-kernel-sim >> /var/run/reboot-required.pkgs
fi`;

/** dpkg's `name (>= v)` as rpm's `name >= v`. */
const rpmRequires = (depends: string): string => depends.replace(/^(\S+) \((\S+) (\S+)\)$/, "$1 $2 $3");

/** Every rpm of the repository: the deb test packages, then steward-release. */
export function rpmSpecs(): RpmSpec[] {
  const specs: RpmSpec[] = TEST_PACKAGES.map((pkg) => ({
    name: pkg.name,
    version: pkg.version,
    ...(pkg.depends !== undefined ? { requires: rpmRequires(pkg.depends) } : {}),
    // steward-broken 1.0.1's postinst fails; so does its %post.
    ...(pkg.name === "steward-kernel-sim" ? { post: KERNEL_POST } : pkg.postinst !== undefined ? { post: pkg.postinst } : {}),
    files: true,
  }));
  specs.push({ name: "steward-release", version: RPM_RELEASEVER, provides: ["system-release", `system-release(releasever) = ${RPM_RELEASEVER}`, "/bin/sh"], files: false });
  return specs;
}

/** `name-version-release`, as `dnf install` takes a package at one exact version. */
export const rpmNevr = (name: string, version: string): string => `${name}-${version}-${RPM_RELEASE}`;

/**
 * Starting package sets of a dnf fleet: the apt profiles' versions (packages.ts), as
 * `name-version-release` specs, so a dnf host of profile a starts where an apt one does.
 */
export const RPM_PROFILES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(PROFILES).map(([profile, debs]) => [
    profile,
    debs.map((entry) => {
      const cut = entry.lastIndexOf("_");
      return rpmNevr(entry.slice(0, cut), entry.slice(cut + 1));
    }),
  ]),
);

function specText(spec: RpmSpec): string {
  const lines = [
    `Name: ${spec.name}`,
    `Version: ${spec.version}`,
    `Release: ${RPM_RELEASE}`,
    `Summary: steward sandbox test package ${spec.name} ${spec.version}`,
    "License: MIT",
    "BuildArch: noarch",
    ...(spec.requires !== undefined ? [`Requires: ${spec.requires}`] : []),
    ...(spec.provides ?? []).map((p) => `Provides: ${p}`),
    "",
    "%description",
    `steward sandbox test package ${spec.name} ${spec.version}`,
    "",
  ];
  if (spec.files) {
    lines.push(
      "%install",
      `mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/${spec.name}`,
      `echo ${spec.version} > %{buildroot}/usr/share/${spec.name}/VERSION`,
      `printf '#!/bin/sh\\necho "${spec.name} ${spec.version}"\\n' > %{buildroot}/usr/bin/${spec.name}`,
      `chmod 755 %{buildroot}/usr/bin/${spec.name}`,
      "",
    );
  }
  if (spec.post !== undefined) lines.push("%post", spec.post, "");
  lines.push("%files", ...(spec.files ? [`/usr/bin/${spec.name}`, `/usr/share/${spec.name}`] : []), "");
  return lines.join("\n");
}

/** updateinfo.xml with one security advisory, in the layout createrepo_c's modifyrepo_c takes. */
function updateinfo(): string {
  const a = SECURITY_ADVISORY;
  return `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="sandbox@steward.invalid" status="stable" type="security" version="1">
    <id>${a.id}</id>
    <title>${a.name} security update</title>
    <issued date="2026-01-05 00:00:00"/>
    <severity>Moderate</severity>
    <description>A security fix in ${a.name} ${a.version}.</description>
    <pkglist>
      <collection short="${RPM_REPO_ID}">
        <name>${RPM_REPO_ID}</name>
        <package name="${a.name}" version="${a.version}" release="${RPM_RELEASE}" epoch="0" arch="noarch">
          <filename>${a.name}-${a.version}-${RPM_RELEASE}.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
`;
}

async function buildRpm(spec: RpmSpec, buildDir: string, repoDir: string): Promise<void> {
  const top = join(buildDir, `${spec.name}-${spec.version}`);
  await mkdir(join(top, "tmp"), { recursive: true });
  const specFile = join(top, `${spec.name}.spec`);
  await writeFile(specFile, specText(spec));
  // Everything rpmbuild writes stays below the build folder (not ~/rpmbuild or /var/tmp).
  await run("rpmbuild", ["-bb", "--quiet", "--define", `_topdir ${top}`, "--define", `_tmppath ${join(top, "tmp")}`, "--define", "_binary_payload w2.xzdio", specFile]);
  const file = `${spec.name}-${spec.version}-${RPM_RELEASE}.noarch.rpm`;
  await rename(join(top, "RPMS", "noarch", file), join(repoDir, file));
}

/**
 * Builds every test rpm into `repoDir` and indexes it as a dnf repository (repodata/
 * by createrepo_c, the security advisory added with modifyrepo_c). Needs rpmbuild
 * (Debian's rpm package) and createrepo_c (createrepo-c).
 */
export async function buildRpmRepository(repoDir: string, buildDir: string): Promise<void> {
  await mkdir(repoDir, { recursive: true, mode: 0o755 });
  await mapLimit(rpmSpecs(), 4, (spec) => buildRpm(spec, buildDir, repoDir));
  await run("createrepo_c", ["--quiet", "--no-database", repoDir]);
  const info = join(buildDir, "updateinfo.xml");
  await writeFile(info, updateinfo());
  await run("modifyrepo_c", ["--mdtype=updateinfo", "--compress-type=gz", info, join(repoDir, "repodata")]);
  await rm(buildDir, { recursive: true, force: true });
  if (!(await readdir(repoDir)).includes("repodata")) throw new Error(`createrepo_c left no repodata in ${repoDir}`);
}

/**
 * The rpm repository in `cacheDir`, built on first use (rpmbuild takes about a second
 * per package) and reused by every later fleet: its folder is named by a digest of
 * every spec and the advisory, so a changed package builds a new one. Hosts bind it
 * read-only. Parallel fleets may race to build it: each builds in a private folder and
 * renames it into place; the loser's copy is dropped.
 */
export async function ensureRpmRepository(cacheDir: string): Promise<string> {
  const digest = createHash("sha256").update(JSON.stringify([rpmSpecs().map(specText), updateinfo()])).digest("hex").slice(0, 16);
  const repoDir = join(cacheDir, `rpm-repo-${digest}`);
  if (existsSync(join(repoDir, "repodata", "repomd.xml"))) return repoDir;
  await mkdir(cacheDir, { recursive: true });
  const tmp = join(cacheDir, `.rpm-build-${process.pid}-${Date.now()}`);
  try {
    await buildRpmRepository(join(tmp, "repo"), join(tmp, "build"));
    await rename(join(tmp, "repo"), repoDir).catch((error: NodeJS.ErrnoException) => {
      if (!existsSync(join(repoDir, "repodata", "repomd.xml"))) throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return repoDir;
}

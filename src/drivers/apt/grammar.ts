import type { PackageGrammar } from "../untrusted.ts";

/**
 * dpkg's grammar for the values apt and dpkg print, from Debian Policy §5.6.1 (Source,
 * Package: at least two characters, lower-case letters, digits, `+ - .`, starting with
 * an alphanumeric), §5.6.12 and deb-version(7) (`[epoch:]upstream[-revision]`: epoch
 * digits; upstream starts with a digit and holds `A-Za-z0-9 . + ~ -`, a `-` only when
 * there is a revision and a `:` only when there is an epoch; revision `A-Za-z0-9 + . ~`).
 * Architectures are dpkg-architecture(1) names (`amd64`, `i386`, `all`, `linux-any`);
 * suites and origins are archive names (`bookworm-security`, `jammy-updates`, `now`).
 */

const NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const EPOCH = /^\d+$/;
const UPSTREAM = /^[0-9][A-Za-z0-9.+~-]*$/;
const UPSTREAM_WITH_EPOCH = /^[0-9][A-Za-z0-9.+~:-]*$/;
const REVISION = /^[A-Za-z0-9+.~]+$/;
const ARCH = /^[a-z0-9][a-z0-9_-]*$/;
const SUITE = /^[A-Za-z0-9][A-Za-z0-9.+_/-]*$/;

export const validName: PackageGrammar["validName"] = (name) => NAME.test(name);

export const validVersion: PackageGrammar["validVersion"] = (version) => {
  const colon = version.indexOf(":");
  const epoch = colon < 0 ? undefined : version.slice(0, colon);
  if (epoch !== undefined && !EPOCH.test(epoch)) return false;
  const rest = colon < 0 ? version : version.slice(colon + 1);
  const dash = rest.lastIndexOf("-");
  const upstream = dash < 0 ? rest : rest.slice(0, dash);
  if (dash >= 0 && !REVISION.test(rest.slice(dash + 1))) return false;
  return (epoch === undefined ? UPSTREAM : UPSTREAM_WITH_EPOCH).test(upstream);
};

export const validArch: PackageGrammar["validArch"] = (arch) => ARCH.test(arch);

export const validSource: PackageGrammar["validSource"] = (source) => SUITE.test(source);

export const rules: PackageGrammar["rules"] = {
  name: "Debian Policy 5.6.1: at least two of a-z 0-9 + . -, starting with a letter or digit",
  version: "deb-version(7): [epoch:]upstream[-revision], upstream starting with a digit",
  arch: "a dpkg architecture: a-z 0-9 _ -, starting with a letter or digit",
  source: "an archive name: A-Z a-z 0-9 . + _ / -, starting with a letter or digit",
};

export const grammar: PackageGrammar = { validName, validVersion, validArch, validSource, rules };

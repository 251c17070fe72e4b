import type { PackageGrammar } from "../untrusted.ts";

/**
 * rpm's grammar for the values dnf prints. rpm itself only forbids whitespace in a
 * name and a `-` in version and release; the checks here are the conventional
 * character sets of the Fedora and EL packaging guidelines, which every distribution
 * package follows: names `A-Za-z0-9 . _ + -` not starting with `-`; `[epoch:]version-release`
 * with a numeric epoch and version and release of `A-Za-z0-9 . _ + ~ ^` (`~` and `^`
 * are rpm's pre- and post-release markers). Architectures are rpm's (`x86_64`,
 * `noarch`, `i686`); repositories are repo ids, `@System`-style origins of installed
 * packages, or dnf 5's `<unknown>`.
 */

const NAME = /^[A-Za-z0-9._+][A-Za-z0-9._+-]*$/;
const EVR = /^(?:\d+:)?[A-Za-z0-9._+~^]+-[A-Za-z0-9._+~^]+$/;
const ARCH = /^[a-z0-9][a-z0-9_-]*$/;
const REPO = /^(?:<unknown>|@?[A-Za-z0-9_][A-Za-z0-9._:+-]*)$/;

export const validName: PackageGrammar["validName"] = (name) => NAME.test(name);
export const validVersion: PackageGrammar["validVersion"] = (version) => EVR.test(version);
export const validArch: PackageGrammar["validArch"] = (arch) => ARCH.test(arch);
export const validSource: PackageGrammar["validSource"] = (source) => REPO.test(source);

export const rules: PackageGrammar["rules"] = {
  name: "an rpm name: A-Z a-z 0-9 . _ + -, not starting with -",
  version: "an rpm [epoch:]version-release of A-Z a-z 0-9 . _ + ~ ^",
  arch: "an rpm architecture: a-z 0-9 _ -, starting with a letter or digit",
  source: "a repository id (A-Z a-z 0-9 . _ : + -), optionally after @",
};

export const grammar: PackageGrammar = { validName, validVersion, validArch, validSource, rules };

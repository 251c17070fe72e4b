import type { PackageGrammar } from "../untrusted.ts";

/**
 * apk-tools' grammar. Versions follow src/version.c: `digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}`
 * with the suffixes alpha, beta, pre, rc, cvs, svn, git, hg and p. apk-tools takes
 * almost any byte in a name; the check here is the character set of Alpine's aports
 * (`A-Za-z0-9 . _ + -`, starting with a letter or digit). Tags are a repository tag
 * (`@edge`) or a repository name.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const VERSION = /^\d+(?:\.\d+)*[a-z]?(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*(?:~[0-9a-f]+)?(?:-r\d+)?$/;
const ARCH = /^[a-z0-9][a-z0-9_-]*$/;
const TAG = /^@?[A-Za-z0-9][A-Za-z0-9._:/+-]*$/;

export const validName: PackageGrammar["validName"] = (name) => NAME.test(name);
export const validVersion: PackageGrammar["validVersion"] = (version) => VERSION.test(version);
export const validArch: PackageGrammar["validArch"] = (arch) => ARCH.test(arch);
export const validSource: PackageGrammar["validSource"] = (source) => TAG.test(source);

export const rules: PackageGrammar["rules"] = {
  name: "an apk name: A-Z a-z 0-9 . _ + -, starting with a letter or digit",
  version: "apk-tools: digit{.digit}...{letter}{_suffix{#}}...{~hash}{-r#}",
  arch: "an apk architecture: a-z 0-9 _ -, starting with a letter or digit",
  source: "a repository tag (@name) or repository name",
};

export const grammar: PackageGrammar = { validName, validVersion, validArch, validSource, rules };

/**
 * The github publisher's configuration from the environment, as GitHub Actions
 * provides it. Credentials are read through RunSecrets, so every form of them is
 * redacted from all output (and masked in Actions) before anything is sent.
 *
 * | variable | meaning |
 * |---|---|
 * | `GITHUB_REPOSITORY` | `owner/name` (set by Actions) |
 * | `GITHUB_API_URL` | the REST API root (set by Actions; default https://api.github.com) |
 * | `STEWARD_GITHUB_APP_ID`, `STEWARD_GITHUB_APP_PRIVATE_KEY`, `STEWARD_GITHUB_APP_INSTALLATION_ID` | GitHub App auth: commits are signed, and pull requests it opens trigger workflows |
 * | `STEWARD_GITHUB_TOKEN`, else `GITHUB_TOKEN` | token auth when no App is configured |
 * | `STEWARD_GITHUB_BASE_BRANCH` | the branch to propose to (default: the repository's default) |
 * | `STEWARD_GITHUB_AUTHOR` | the login steward publishes as, when GitHub cannot say (an App installation token made outside steward: `<app-slug>[bot]`); default: found from the credential (identity.ts) |
 */
import { missingSecretMessage, type RunSecrets } from "../../core/secrets.ts";
import { jsonQuoted } from "../../core/text.ts";
import { PublishError } from "../errors.ts";
import { isLogin } from "./identity.ts";
import type { GithubPublisherOptions } from "./index.ts";

const APP_VARIABLES = ["STEWARD_GITHUB_APP_ID", "STEWARD_GITHUB_APP_PRIVATE_KEY", "STEWARD_GITHUB_APP_INSTALLATION_ID"] as const;

/**
 * The options for GithubPublisher, or undefined when no GitHub is configured (no
 * repository, or no credential): the `git` publisher is the default then. `env` is the
 * environment `secrets` was made from (credentials are read through it).
 * @throws PublishError for a half-configured App, a malformed repository or id, or a key that is not PEM.
 * @throws SecretError (from RunSecrets) for a credential too short to redact.
 */
export function githubOptionsFromEnv(env: NodeJS.ProcessEnv, secrets: RunSecrets): Omit<GithubPublisherOptions, "tuning" | "onNotice"> | undefined {
  const repository = env["GITHUB_REPOSITORY"];
  const set = (name: string) => (env[name] ?? "") !== "";
  const appSet = APP_VARIABLES.filter(set);
  const token = ["STEWARD_GITHUB_TOKEN", "GITHUB_TOKEN"].find(set);
  if (repository === undefined || repository === "" || (appSet.length === 0 && token === undefined)) return undefined;
  if (!/^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/.test(repository)) throw new PublishError(`GITHUB_REPOSITORY is ${JSON.stringify(repository.slice(0, 150))}, not owner/name`, "set GITHUB_REPOSITORY to the repository's owner/name, e.g. acme/fleet");
  const author = env["STEWARD_GITHUB_AUTHOR"] || undefined;
  if (author !== undefined && !isLogin(author)) throw new PublishError(`STEWARD_GITHUB_AUTHOR is ${jsonQuoted(author.slice(0, 60))}, not a GitHub login`, "set it to the login steward's pull requests show as their author, e.g. github-actions[bot] or my-app[bot], or unset it");
  const common = { repository, baseUrl: env["GITHUB_API_URL"] || "https://api.github.com", baseBranch: env["STEWARD_GITHUB_BASE_BRANCH"] || undefined, secrets, ...(author !== undefined ? { author } : {}) };
  if (appSet.length > 0) {
    const missing = APP_VARIABLES.filter((name) => !set(name));
    if (missing.length > 0) throw new PublishError(`GitHub App auth is half configured: ${appSet.join(", ")} set, ${missing.join(", ")} not`, "set all three STEWARD_GITHUB_APP_* variables, or none to use a token");
    for (const name of ["STEWARD_GITHUB_APP_ID", "STEWARD_GITHUB_APP_INSTALLATION_ID"]) {
      if (!/^[0-9]{1,20}$/.test(env[name]!)) throw new PublishError(`${name} must be the number GitHub shows for it`, `copy ${name} from the App's settings page (App ID) or the installation's URL (installation id)`);
    }
    const privateKey = credential(secrets, "STEWARD_GITHUB_APP_PRIVATE_KEY");
    if (!/^-----BEGIN (RSA )?PRIVATE KEY-----/.test(privateKey.trim())) {
      throw new PublishError("STEWARD_GITHUB_APP_PRIVATE_KEY is not a PEM private key", "store the whole .pem file GitHub generated for the App, with its BEGIN and END lines and line breaks");
    }
    return { ...common, auth: { kind: "app", appId: env["STEWARD_GITHUB_APP_ID"]!, privateKey, installationId: env["STEWARD_GITHUB_APP_INSTALLATION_ID"]! } };
  }
  const value = credential(secrets, token!);
  // GITHUB_TOKEN is the workflow's token by Actions convention; STEWARD_GITHUB_TOKEN is when it holds the same value.
  const workflowToken = token === "GITHUB_TOKEN" || value === env["GITHUB_TOKEN"];
  return { ...common, auth: { kind: "token", token: value, workflowToken } };
}

/** Reads a credential through RunSecrets, which registers it for redaction. */
function credential(secrets: RunSecrets, variable: string): string {
  const { vars, missing } = secrets.resolveVars({ credential: { env: variable } });
  const value = vars["credential"];
  if (typeof value !== "string") throw new PublishError(missingSecretMessage(missing[0] ?? { key: "credential", variable }, "the github publisher"));
  return value;
}

/**
 * Which publisher a command uses: `github` when GitHub is configured in the environment
 * (GITHUB_REPOSITORY and a credential, see github/config.ts) or asked for with
 * `--publisher github`, else the offline `git` publisher on the repository at `root`.
 */
import type { RunSecrets } from "../core/secrets.ts";
import { StewardError, UsageError } from "../core/errors.ts";
import { terminalText } from "../core/text.ts";
import { GitPublisher } from "./git/index.ts";
import { GithubPublisher, githubOptionsFromEnv } from "./github/index.ts";
import type { Publisher } from "./types.ts";

/**
 * The publisher for `--publisher KIND` (undefined: chosen from the environment);
 * rate-limit notices and warnings (an item carrying steward's marker that another
 * account wrote, ignored) go to `io.stderr`.
 * @throws UsageError for an unknown kind; StewardError (environment) for `github`
 * without GITHUB_REPOSITORY and a credential.
 */
export function publisherFor(kind: string | undefined, root: string, io: { env: NodeJS.ProcessEnv; secrets: RunSecrets; stderr: (text: string) => void }): Publisher {
  if (kind !== undefined && kind !== "git" && kind !== "github") throw new UsageError(`unknown publisher '${kind}'`, "use --publisher git or --publisher github");
  const github = kind === "git" ? undefined : githubOptionsFromEnv(io.env, io.secrets);
  if (kind === "github" && github === undefined) throw new StewardError("environment", "--publisher github needs GITHUB_REPOSITORY and a credential (STEWARD_GITHUB_TOKEN or GITHUB_TOKEN, or the STEWARD_GITHUB_APP_* variables)", "set them (Actions sets GITHUB_REPOSITORY and GITHUB_TOKEN), or publish with --publisher git");
  if (github !== undefined) return new GithubPublisher({ ...github, onNotice: (m) => io.stderr(`${terminalText(m)}\n`), onWarning: (m) => io.stderr(`warning: ${terminalText(m)}\n`) });
  return new GitPublisher({ root });
}

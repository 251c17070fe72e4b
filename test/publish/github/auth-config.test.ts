import { generateKeyPairSync } from "node:crypto";
import { Octokit } from "@octokit/rest";
import { afterEach, describe, expect, it } from "vitest";
import { RunSecrets, SecretError } from "../../../src/core/secrets.ts";
import { PublishError } from "../../../src/publish/errors.ts";
import { GithubPublisher, githubOptionsFromEnv } from "../../../src/publish/github/index.ts";
import { GithubFake } from "../../github-fake/server.ts";
import { FAST, plan } from "./harness.ts";

let fake: GithubFake | undefined;
afterEach(async () => {
  if (fake === undefined) return;
  try {
    expect(fake.violations).toEqual([]);
  } finally {
    await fake.stop();
    fake = undefined;
  }
});

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });

describe("GitHub App auth", () => {
  it("trades the App's JWT for an installation token and publishes as the App's bot", async () => {
    fake = await GithubFake.start();
    await fake.createRepo("acme", "fleet", { "README.md": "# fleet\n" });
    fake.apps.addApp({ appId: 4242, slug: "steward-app", publicKeyPem: publicKey, installationId: 77 });
    const env = { GITHUB_REPOSITORY: "acme/fleet", GITHUB_API_URL: fake.url, STEWARD_GITHUB_APP_ID: "4242", STEWARD_GITHUB_APP_PRIVATE_KEY: privateKey, STEWARD_GITHUB_APP_INSTALLATION_ID: "77" };
    const secrets = new RunSecrets(env);
    const options = githubOptionsFromEnv(env, secrets)!;
    expect(options.auth).toMatchObject({ kind: "app", appId: "4242", installationId: "77" });
    expect(secrets.redact(`key: ${privateKey}`)).toBe("key: ***");
    const publisher = new GithubPublisher({ ...options, tuning: FAST });
    await publisher.publishPlan(plan("a".repeat(64)));
    await publisher.publishPlan(plan("a".repeat(64)));
    expect(fake.apps.minted).toHaveLength(1);
    expect(fake.count("apps/create-installation-access-token")).toBe(1);
    const reader = new Octokit({ baseUrl: fake.url, auth: fake.apps.minted[0] });
    const pr = await reader.rest.pulls.get({ owner: "acme", repo: "fleet", pull_number: 1 });
    expect(pr.data.user!.login).toBe("steward-app[bot]");
    const commit = await reader.rest.git.getCommit({ owner: "acme", repo: "fleet", commit_sha: pr.data.head.sha });
    expect(commit.data.author.name).toBe("steward-app[bot]");
    expect(commit.data.verification.verified).toBe(true);
  });

  it("a key the App does not know is refused with GitHub's 401, and the key is not in the error", async () => {
    fake = await GithubFake.start();
    await fake.createRepo("acme", "fleet", { "README.md": "# fleet\n" });
    fake.apps.addApp({ appId: 4242, slug: "steward-app", publicKeyPem: generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }) as string, installationId: 77 });
    const env = { GITHUB_REPOSITORY: "acme/fleet", GITHUB_API_URL: fake.url, STEWARD_GITHUB_APP_ID: "4242", STEWARD_GITHUB_APP_PRIVATE_KEY: privateKey, STEWARD_GITHUB_APP_INSTALLATION_ID: "77" };
    const secrets = new RunSecrets(env);
    const publisher = new GithubPublisher({ ...githubOptionsFromEnv(env, secrets)!, tuning: FAST });
    const error = (await publisher.publishPlan(plan("a".repeat(64))).catch((e: unknown) => e)) as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.message).toMatch(/^cannot read acme\/fleet: GitHub refused the credentials: 401 A JSON web token could not be decoded/);
    const keyBody = privateKey.split("\n")[1]!;
    expect(`${error.message}${error.hint}`).not.toContain(keyBody);
  });
});

describe("configuration from the environment", () => {
  /** The options for `env`, read through RunSecrets made from the same environment, as a command does. */
  const fromEnv = (env: Record<string, string>, secrets = new RunSecrets(env)) => githubOptionsFromEnv(env, secrets);

  it("is absent without a repository or a credential: the git publisher is the default", () => {
    expect(fromEnv({})).toBeUndefined();
    expect(fromEnv({ GITHUB_REPOSITORY: "acme/fleet" })).toBeUndefined();
    expect(fromEnv({ GITHUB_TOKEN: "ghs_0123456789abcdef" })).toBeUndefined();
  });

  it("takes STEWARD_GITHUB_TOKEN before GITHUB_TOKEN and registers it for redaction", () => {
    const env = { GITHUB_REPOSITORY: "acme/fleet", GITHUB_TOKEN: "ghs_actionsTokenXYZ123", STEWARD_GITHUB_TOKEN: "github_pat_stewardToken123" };
    const s = new RunSecrets(env);
    const options = fromEnv(env, s)!;
    expect(options).toMatchObject({ repository: "acme/fleet", baseUrl: "https://api.github.com", baseBranch: undefined, auth: { kind: "token", token: "github_pat_stewardToken123" } });
    expect(s.redact("auth github_pat_stewardToken123")).toBe("auth ***");
  });

  it("refuses a half-configured App, naming what is missing", () => {
    expect(() => fromEnv({ GITHUB_REPOSITORY: "acme/fleet", STEWARD_GITHUB_APP_ID: "1" })).toThrow(
      "GitHub App auth is half configured: STEWARD_GITHUB_APP_ID set, STEWARD_GITHUB_APP_PRIVATE_KEY, STEWARD_GITHUB_APP_INSTALLATION_ID not",
    );
  });

  it("refuses a private key that is not PEM without showing it", () => {
    const env = { GITHUB_REPOSITORY: "acme/fleet", STEWARD_GITHUB_APP_ID: "1", STEWARD_GITHUB_APP_PRIVATE_KEY: "not-a-key-but-a-secret", STEWARD_GITHUB_APP_INSTALLATION_ID: "2" };
    const error = (() => {
      try {
        fromEnv(env);
      } catch (e) {
        return e as PublishError;
      }
    })()!;
    expect(error.message).toBe("STEWARD_GITHUB_APP_PRIVATE_KEY is not a PEM private key");
    expect(`${error.message}${error.hint}`).not.toContain("not-a-key-but-a-secret");
  });

  it("refuses a token too short to redact, and a malformed repository", () => {
    expect(() => fromEnv({ GITHUB_REPOSITORY: "acme/fleet", STEWARD_GITHUB_TOKEN: "short" })).toThrow(SecretError);
    expect(() => fromEnv({ GITHUB_REPOSITORY: "acme", STEWARD_GITHUB_TOKEN: "ghs_0123456789abcdef" })).toThrow(/GITHUB_REPOSITORY is "acme", not owner\/name/);
  });
});

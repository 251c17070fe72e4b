/**
 * A GitHub fake with one repository (acme/fleet), a token that may write contents,
 * pull requests and issues, and a publisher pointed at it with fast pacing. Every test
 * that uses it checks afterwards that no request or response strayed from GitHub's
 * OpenAPI description.
 */
import { Octokit } from "@octokit/rest";
import { expect } from "vitest";
import { RunSecrets } from "../../../src/core/secrets.ts";
import { GithubPublisher, type GithubPublisherOptions } from "../../../src/publish/github/index.ts";
import type { PlanPublication, ResultsPublication } from "../../../src/publish/types.ts";
import { GithubFake, type Permissions } from "../../github-fake/server.ts";

export const TOKEN = "ghs_publisherTokenForTests0123456789";
export const HUMAN_TOKEN = "ghp_humanReviewerToken0123456789abcd";
/** The bot the publisher's token belongs to: an installation token, so GitHub will not name it and the harness configures it (STEWARD_GITHUB_AUTHOR). */
export const STEWARD = "steward-ci[bot]";

/** Fast but real: every retry and pause still happens, in milliseconds. */
export const FAST = { serverErrorRetries: 2, serverErrorDelayMs: 5, rateLimitRetries: 2, retryAfterUnitMs: 20, writeSpacingMs: 0, notificationSpacingMs: 0 };

export interface Harness {
  fake: GithubFake;
  secrets: RunSecrets;
  publisher: GithubPublisher;
  /** A reviewer's client, to merge and close as a human would. */
  human: Octokit;
  /** A client with the publisher's own token: items it makes are steward's. */
  steward: Octokit;
  /** What the publishers told `onWarning`, in order. */
  warnings: string[];
  /** git in the fake's backing repository. */
  git(args: string[]): Promise<string>;
  publisherWith(options: Partial<GithubPublisherOptions>): GithubPublisher;
}

const QUIET = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export async function startHarness(permissions?: Permissions): Promise<Harness> {
  const fake = await GithubFake.start();
  const repo = await fake.createRepo("acme", "fleet", { "README.md": "# fleet\n", "runbooks/web.yaml": "name: web\n" });
  fake.addToken(TOKEN, { login: STEWARD }, permissions);
  fake.addToken(HUMAN_TOKEN, { login: "alice", type: "User" });
  const secrets = new RunSecrets({ STEWARD_GITHUB_TOKEN: TOKEN });
  const warnings: string[] = [];
  const publisherWith = (options: Partial<GithubPublisherOptions>) =>
    new GithubPublisher({ repository: "acme/fleet", auth: { kind: "token", token: TOKEN }, author: STEWARD, baseUrl: fake.url, secrets, tuning: FAST, onWarning: (m) => warnings.push(m), ...options });
  return {
    fake,
    secrets,
    publisher: publisherWith({}),
    human: new Octokit({ baseUrl: fake.url, auth: HUMAN_TOKEN, log: QUIET }),
    steward: new Octokit({ baseUrl: fake.url, auth: TOKEN, log: QUIET }),
    warnings,
    git: (args) => repo.git.git(args),
    publisherWith,
  };
}

/** Stops the fake after asserting that every exchange followed GitHub's description. */
export async function stopHarness(h: Harness | undefined): Promise<void> {
  if (h === undefined) return;
  try {
    expect(h.fake.violations).toEqual([]);
  } finally {
    await h.fake.stop();
  }
}

export function plan(planId: string, overrides: Partial<PlanPublication> = {}): PlanPublication {
  return {
    runbook: "web",
    planId,
    title: `Plan web: 2 hosts (plan ${planId.slice(0, 8)})`,
    message: `plan web: 2 hosts in 1 wave (plan ${planId.slice(0, 8)})\n\nSteward-Plan: ${planId}\n`,
    files: [
      { path: `plans/${planId}.json`, content: `{"id":"${planId}"}\n` },
      { path: `plans/${planId}.md`, content: `# Plan ${planId}\n` },
    ],
    body: { summary: `## Plan web\n\n2 hosts, 1 wave. Plan \`${planId}\`.`, details: [{ title: "Hosts", body: "| host | action |\n|---|---|\n| web-1 | upgrade |" }], fullTextPath: `plans/${planId}.md` },
    labels: [],
    ...overrides,
  };
}

export function results(runId: string, files: Record<string, string>, overrides: Partial<ResultsPublication> = {}): ResultsPublication {
  return {
    runId,
    title: `Results of run ${runId}`,
    message: `apply web: 2 changed, 0 failed (run ${runId})\n\nSteward-Run: ${runId}\nSteward-Outcome: success\n`,
    files: Object.entries(files).map(([path, content]) => ({ path, content })),
    body: { summary: `## Run ${runId}\n\n2 changed.`, details: [] },
    labels: [],
    ...overrides,
  };
}

/**
 * What the fake remembers about each repository besides its git content: issues and
 * pull requests (one number sequence, as on GitHub: a pull request is an issue),
 * comments and labels.
 */
import type { GitStore } from "./git-store.ts";

export interface Account {
  login: string;
  id: number;
  type: "User" | "Bot";
}

export interface IssueRecord {
  number: number;
  id: number;
  title: string;
  body: string | null;
  state: "open" | "closed";
  stateReason: "completed" | "not_planned" | "reopened" | null;
  /** Label names, in the order added. */
  labels: string[];
  assignees: string[];
  user: Account;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Present when the issue is a pull request. */
  pull?: PullFields;
}

export interface PullFields {
  head: string;
  base: string;
  merged: boolean;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  /** The head the pull request had when merged (the branch may move on). */
  mergedHead: string | null;
  mergedBy: Account | null;
  draft: boolean;
}

export interface CommentRecord {
  id: number;
  issueNumber: number;
  body: string;
  user: Account;
  createdAt: string;
  updatedAt: string;
}

export interface LabelRecord {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface RepoRecord {
  owner: Account;
  name: string;
  id: number;
  defaultBranch: string;
  git: GitStore;
  issues: Map<number, IssueRecord>;
  comments: Map<number, CommentRecord>;
  /** Keyed by lower-cased name: GitHub's label names are case-insensitive. */
  labels: Map<string, LabelRecord>;
  /** Commits created through the API: GitHub signs these, so they report as verified. */
  apiCommits: Set<string>;
  createdAt: string;
}

/** Sequences for ids, shared by every repository of one fake (ids are global on GitHub). */
export class Ids {
  private next = 1000;
  take(): number {
    return this.next++;
  }
}

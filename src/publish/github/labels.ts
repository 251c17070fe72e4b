/**
 * Labels steward puts on pull requests and issues, created with a colour and a
 * description when the repository lacks them (GitHub would otherwise create a grey,
 * undescribed label on first use).
 */
import type { GithubApi } from "./api.ts";

/** Colours and descriptions of the labels steward uses; other names get grey. */
const KNOWN: Record<string, { color: string; description: string }> = {
  steward: { color: "1d76db", description: "Opened by steward" },
  "steward-plan": { color: "0e8a16", description: "A steward rollout plan: merging it approves the plan" },
  "steward-results": { color: "5319e7", description: "Results of a steward run" },
  "steward-incident": { color: "b60205", description: "A failed or halted steward run" },
  "steward-recommendation": { color: "0052cc", description: "Recommended work from steward's forecast" },
  SEV1: { color: "b60205", description: "Critical service broken" },
  SEV2: { color: "d93f0b", description: "Critical service at risk or important one broken" },
  SEV3: { color: "fbca04", description: "Degraded" },
  SEV4: { color: "c2e0c6", description: "Minor" },
};

/** Creates each label the repository lacks; remembers what exists for the client's life. */
export class LabelMaker {
  private readonly present = new Set<string>();

  constructor(private readonly api: GithubApi) {}

  async ensure(names: readonly string[]): Promise<void> {
    const api = this.api;
    for (const name of names) {
      if (this.present.has(name.toLowerCase())) continue;
      const found = await api.attempt(`read the label ${name}`, "issues: read", () => api.octokit.rest.issues.getLabel({ ...api.where, name }), [404]);
      if (!found.ok) {
        const style = KNOWN[name] ?? { color: "ededed", description: "Used by steward" };
        const made = await api.attempt(`create the label ${name}`, "issues: write", () => api.octokit.rest.issues.createLabel({ ...api.where, name, ...style }), [422]);
        // 422 already_exists: another job made it since we looked, which is what we wanted.
        if (!made.ok && !made.details.includes("already_exists")) throw api.refused(`create the label ${name}`, "issues: write", made);
      }
      this.present.add(name.toLowerCase());
    }
  }

  /** Adds the labels an issue or pull request lacks (creating them in the repository first). */
  async apply(number: number, have: ReadonlyArray<string | { name?: string }>, want: readonly string[]): Promise<void> {
    const current = new Set(have.map((l) => (typeof l === "string" ? l : (l.name ?? "")).toLowerCase()));
    const missing = want.filter((name) => !current.has(name.toLowerCase()));
    if (missing.length === 0) return;
    await this.ensure(missing);
    const api = this.api;
    await api.call(`label #${number}`, "issues: write", () => api.octokit.rest.issues.addLabels({ ...api.where, issue_number: number, labels: missing }));
  }
}

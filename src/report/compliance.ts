/**
 * The compliance section of runs/<run-id>/report.md: for an auditor, per rule the hosts
 * failing it, per host the rules it fails, then the evidence of every verdict that is
 * not compliant (observed, expected, when) and the access review (authorized keys,
 * who may become root, pending security updates). Read from results.json only (the
 * `compliance` evidence of compliance steps); rendered through src/template in
 * Markdown mode, so every value from a host is escaped. Empty when the run had no
 * compliance step.
 */
import type { RunResults } from "../apply/results.ts";
import type { ComplianceEvidence, RuleEvidence } from "../steps/compliance/execute.ts";
import { compileTemplate, type RenderFn } from "../template/index.ts";

const SOURCES = {
  head: `
## Compliance

{{compliant}} compliant, {{nonCompliant}} non-compliant and {{unknown}} unknown verdict(s) over {{hosts}} host(s). Unknown means the rule could not be judged on the host (a command missing, permission denied, unreadable output): it is not proven compliant.
`,
  rulesHead: `
### Rules not met

| Rule | Severity | Non-compliant on | Unknown on |
|---|---|---|---|
`,
  ruleRow: "| {{id}} | {{severity}} | {{failing}} | {{unknown}} |\n",
  hostsHead: `
### Hosts not compliant

| Host | Non-compliant | Unknown |
|---|---|---|
`,
  hostRow: "| {{host}} | {{failing}} | {{unknown}} |\n",
  evidenceHead: `
### Evidence

| Host | Rule | Status | Observed | Expected | Observed at |
|---|---|---|---|---|---|
`,
  evidenceRow: "| {{host}} | {{id}} | {{status}} | {{observed}} | {{expected}} | {{at}} |\n",
  findingRow: "| | ↳ | | {{finding}} | | |\n",
  accessHead: `
### Access review

| Host | Authorized keys | Accounts with keys | May run commands as root | Pending security updates |
|---|---|---|---|---|
`,
  accessRow: "| {{host}} | {{keys}} | {{accounts}} | {{root}} | {{updates}} |\n",
  allMet: "\nEvery rule is met on every host.\n",
  cut: "\n_… the compliance evidence is cut here to keep the report under GitHub's size limit; all of it is in runs/{{runId}}/results.json._\n",
};

let compiled: Record<keyof typeof SOURCES, RenderFn> | undefined;
const t = (): Record<keyof typeof SOURCES, RenderFn> =>
  (compiled ??= Object.fromEntries(Object.entries(SOURCES).map(([name, source]) => [name, compileTemplate(source, "markdown")])) as Record<keyof typeof SOURCES, RenderFn>);

/** Every compliance verdict of a run, with its host, in the hosts' rollout order. */
function evidenceOf(results: RunResults): Array<{ host: string; evidence: ComplianceEvidence }> {
  const out: Array<{ host: string; evidence: ComplianceEvidence }> = [];
  for (const h of results.hosts) {
    for (const s of h.steps) {
      const e = s.kind === "compliance" ? (s.evidence?.compliance as ComplianceEvidence | undefined) : undefined;
      if (e !== undefined) out.push({ host: h.host, evidence: e });
    }
  }
  return out;
}

const FINDINGS_SHOWN = 5;

/**
 * The report's compliance section, at most `maxChars` characters (the evidence and
 * access rows are cut first, never the per-rule and per-host tables); "" when the run
 * judged no compliance rule.
 */
export function complianceSection(results: RunResults, maxChars = 20_000): string {
  const all = evidenceOf(results);
  if (all.length === 0) return "";
  const r = t();
  const verdicts = all.flatMap(({ host, evidence }) => evidence.rules.map((rule) => ({ host, rule })));
  const count = (s: RuleEvidence["status"]): number => verdicts.filter((v) => v.rule.status === s).length;
  const parts = [r.head({ compliant: count("compliant"), nonCompliant: count("non-compliant"), unknown: count("unknown"), hosts: new Set(all.map((a) => a.host)).size })];
  const bad = verdicts.filter((v) => v.rule.status !== "compliant");
  if (bad.length === 0) parts.push(r.allMet({}));
  else {
    const hostsBy = (id: string, status: RuleEvidence["status"]): string => [...new Set(bad.filter((v) => v.rule.id === id && v.rule.status === status).map((v) => v.host))].join(", ") || "—";
    parts.push(r.rulesHead({}));
    for (const id of [...new Set(bad.map((v) => v.rule.id))]) parts.push(r.ruleRow({ id, severity: bad.find((v) => v.rule.id === id)!.rule.severity, failing: hostsBy(id, "non-compliant"), unknown: hostsBy(id, "unknown") }));
    const rulesOf = (host: string, status: RuleEvidence["status"]): string => bad.filter((v) => v.host === host && v.rule.status === status).map((v) => v.rule.id).join(", ") || "—";
    parts.push(r.hostsHead({}));
    for (const host of [...new Set(bad.map((v) => v.host))]) parts.push(r.hostRow({ host, failing: rulesOf(host, "non-compliant"), unknown: rulesOf(host, "unknown") }));
  }
  const detail: string[] = [];
  if (bad.length > 0) {
    detail.push(r.evidenceHead({}));
    for (const { host, rule } of bad) {
      detail.push(r.evidenceRow({ host, id: rule.id, status: rule.status, observed: rule.status === "unknown" ? `${rule.observed}: ${rule.reason ?? ""}` : rule.observed, expected: rule.expected, at: rule.observedAt }));
      const findings = rule.findings ?? [];
      for (const finding of findings.slice(0, FINDINGS_SHOWN)) detail.push(r.findingRow({ finding }));
      if (findings.length > FINDINGS_SHOWN) detail.push(r.findingRow({ finding: `… ${findings.length - FINDINGS_SHOWN} more in results.json` }));
    }
  }
  const access = all.filter(({ evidence: e }) => e.authorizedKeys !== undefined || e.sudo !== undefined || e.securityUpdates !== undefined);
  if (access.length > 0) {
    detail.push(r.accessHead({}));
    for (const { host, evidence: e } of access) {
      const keys = e.authorizedKeys;
      const root = e.sudo?.rights.filter((x) => x.root).map((x) => `${x.user}${x.allCommands ? " (all)" : " (some)"}`).join(", ");
      detail.push(r.accessRow({
        host,
        keys: keys === undefined ? "not read" : String(keys.entries.length + keys.unlisted),
        accounts: keys === undefined ? "—" : [...new Set(keys.entries.map((k) => k.user))].join(", ") || "none",
        root: e.sudo === undefined ? "not read" : root || "nobody",
        updates: e.securityUpdates === undefined ? "not read" : String(e.securityUpdates.length),
      }));
    }
  }
  const head = parts.join("");
  let text = head + detail.join("");
  if (text.length <= maxChars) return text;
  text = head;
  for (const row of detail) {
    if (text.length + row.length > maxChars - 200) break;
    text += row;
  }
  return text + r.cut({ runId: results.runId });
}

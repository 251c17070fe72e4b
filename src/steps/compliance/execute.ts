/**
 * The `compliance` step: every rule of the step judged on the host in ONE round trip
 * (script.ts), read-only, each rule `compliant`, `non-compliant` or `unknown` with its
 * evidence (observed, expected, observedAt). The step fails when any rule is not
 * compliant: an unknown rule is not proven compliant, and an auditor must look.
 *
 * The script runs through the host's become unless the step says `become: false`:
 * `sshd -T`, other accounts' authorized_keys and `sudo -l -U` need root. On a host
 * without become it runs as the login user, and those rules come out unknown.
 */
import type { StepContext, StepExecutor, StepResult } from "../../apply/types.ts";
import { ForgedOutputError, splitFramed, type Section } from "../../facts/script.ts";
import type { ComplianceRule, Criticality, Step } from "../../model/types.ts";
import { guarded, type StepClock } from "../execute-helpers.ts";
import type { KeysInventory } from "./authorized-keys.ts";
import { judgeAuthorizedKeys, judgeListeningPorts, judgeSecurityUpdates, judgeSudoers, type PendingUpdate } from "./hygiene.ts";
import type { SudoRights } from "./readings.ts";
import { judgeCommand, judgeFile, judgePackage, judgeService, judgeSshd, judgeSysctl, unknown, type Judged, type RuleStatus } from "./rules.ts";
import { complianceScript, ruleSection } from "./script.ts";

/**
 * Output budget of the compliance script, and the output kept to judge: as the facts
 * script's, room for every key file of a large host. All of it is kept (not only a
 * tail), or a section's begin marker would be lost and the output read as forged.
 */
export const COMPLIANCE_MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

/** One rule's verdict on one host, as results.json records it. */
export interface RuleEvidence {
  id: string;
  type: ComplianceRule["check"]["type"];
  severity: Criticality;
  description?: string;
  status: RuleStatus;
  observed: string;
  expected: string;
  /** ISO 8601 UTC: when the host's output was read. */
  observedAt: string;
  reason?: string;
  findings?: string[];
}

/** A compliance step's evidence on one host (results.json `steps[].evidence.compliance`). */
export interface ComplianceEvidence {
  observedAt: string;
  rules: RuleEvidence[];
  /** The access review: every authorized_keys entry (authorized-keys rules). */
  authorizedKeys?: KeysInventory;
  /** Who may run what through sudo (sudoers rules). */
  sudo?: { rights: SudoRights[]; unanswered: string[] };
  /** Every listening socket (listening-ports rules). */
  listening?: string[];
  /** Pending security updates (security-updates rules). */
  securityUpdates?: PendingUpdate[];
}

const MISSING: Section = { stdout: "", stderr: "", exitCode: null };

/** The rule's description of what it expects, for a verdict that never got a reading. */
const expectedOf = (rule: ComplianceRule): string => `${rule.check.type} rule ${rule.id}`;

/**
 * Judges every rule from the script's sections. `sections` maps section names to what
 * they read (a missing one reads as "never finished"). Pure: tested on captured output.
 */
export function judgeRules(rules: readonly ComplianceRule[], sections: ReadonlyMap<string, Section>, observedAt: Date): ComplianceEvidence {
  const at = observedAt.toISOString();
  const evidence: ComplianceEvidence = { observedAt: at, rules: [] };
  const get = (name: string): Section => sections.get(name) ?? MISSING;
  rules.forEach((rule, i) => {
    const check = rule.check;
    let judged: Judged;
    switch (check.type) {
      case "sshd": judged = judgeSshd(check, get("sshd")); break;
      case "sysctl": judged = judgeSysctl(check, get(ruleSection(i))); break;
      case "file": judged = judgeFile(check, get(ruleSection(i))); break;
      case "package": judged = judgePackage(check, get(ruleSection(i))); break;
      case "service": judged = judgeService(check, get(ruleSection(i))); break;
      case "command": judged = judgeCommand(check, get(ruleSection(i))); break;
      case "authorized-keys": {
        const r = judgeAuthorizedKeys(check, get("keys"));
        judged = r.judged;
        if (r.inventory !== undefined) evidence.authorizedKeys = r.inventory;
        break;
      }
      case "listening-ports": {
        const r = judgeListeningPorts(check, get("ports"));
        judged = r.judged;
        if (r.sockets !== undefined) evidence.listening = r.sockets;
        break;
      }
      case "sudoers": {
        const r = judgeSudoers(check, get("sudo"));
        judged = r.judged;
        if (r.sudo !== undefined) evidence.sudo = r.sudo;
        break;
      }
      case "security-updates": {
        const r = judgeSecurityUpdates(check, { installed: get("installed"), upgradable: get("upgradable"), lists: get("lists") }, observedAt);
        judged = r.judged;
        if (r.updates !== undefined) evidence.securityUpdates = r.updates;
        break;
      }
    }
    evidence.rules.push(ruleEvidence(rule, judged, at));
  });
  return evidence;
}

function ruleEvidence(rule: ComplianceRule, judged: Judged, at: string): RuleEvidence {
  return { id: rule.id, type: rule.check.type, severity: rule.severity ?? "medium", ...(rule.description !== undefined ? { description: rule.description } : {}), ...judged, observedAt: at };
}

/** Every rule unknown for one reason (the output was forged or cut short). */
export function allUnknown(rules: readonly ComplianceRule[], reason: string, observedAt: Date): ComplianceEvidence {
  const at = observedAt.toISOString();
  return { observedAt: at, rules: rules.map((r) => ruleEvidence(r, unknown(expectedOf(r), reason), at)) };
}

/** The step's one-line detail: counts, then the rules that are not compliant. */
export function complianceDetail(evidence: ComplianceEvidence): string {
  const by = (s: RuleStatus): RuleEvidence[] => evidence.rules.filter((r) => r.status === s);
  const bad = by("non-compliant");
  const unknownRules = by("unknown");
  const parts = [`${by("compliant").length} compliant, ${bad.length} non-compliant, ${unknownRules.length} unknown`];
  if (bad.length > 0) parts.push(`non-compliant: ${bad.map((r) => `${r.id} (${r.observed})`).join("; ")}`);
  if (unknownRules.length > 0) parts.push(`unknown: ${unknownRules.map((r) => `${r.id} (${r.reason ?? ""})`).join("; ")}`);
  const text = parts.join(" — ");
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

type ComplianceStep = Extract<Step, { kind: "compliance" }>;

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const step = ctx.step as ComplianceStep;
  const commands = step.rules.map((r) => (r.check.type === "command" ? ctx.render(r.check.command) : undefined));
  const { script, marker, sections } = complianceScript(step.rules, commands);
  const become = step.become ?? ctx.target.become !== false;
  const result = await ctx.session.exec("/bin/sh -s", { stdin: script, become, check: false, label: `compliance rules of ${step.name}`, timeoutMs: ctx.timeoutMs, maxOutputBytes: COMPLIANCE_MAX_OUTPUT_BYTES, tailBytes: COMPLIANCE_MAX_OUTPUT_BYTES });
  const observedAt = new Date();
  let evidence: ComplianceEvidence;
  try {
    evidence = judgeRules(step.rules, splitFramed(result.stdout, result.stderr, marker, sections, "compliance output"), observedAt);
  } catch (error) {
    if (!(error instanceof ForgedOutputError)) throw error;
    evidence = allUnknown(step.rules, error.message, observedAt);
  }
  const ok = evidence.rules.every((r) => r.status === "compliant");
  return clock.finish(ok ? "unchanged" : "failed", complianceDetail(evidence), { evidence: { compliance: evidence } });
}

export const complianceExecutor: StepExecutor = {
  kind: "compliance",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  // Compliance rules only read: judging them again is always safe.
  rejudge: async () => "skipped",
};

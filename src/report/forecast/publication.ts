/**
 * The recommendations of a forecast as the publishers take them: one item per
 * recommendation (title, a body with the action, the deadline and the evidence), and
 * the reason any published earlier and now absent is closed.
 */
import { markdownText } from "../../core/text.ts";
import type { RecommendationItem, RecommendationSet } from "../../publish/types.ts";
import type { Recommendation } from "./recommend.ts";
import type { ForecastReport } from "./report.ts";

/** The set to publish for a report (Publisher.recommendations). */
export function recommendationSet(report: ForecastReport): RecommendationSet {
  const day = report.generatedAt.slice(0, 10);
  const items = report.recommendations.map((r) => recommendationItem(r, report));
  const subject = `forecast ${day}: ${items.length} recommendation${items.length === 1 ? "" : "s"} (${report.summary.urgent} urgent)`;
  const lines = report.recommendations.map((r) => `- ${r.id}: ${r.title}`);
  return {
    items,
    resolution: `the forecast of ${day} no longer predicts it before the deadline (or has too little data to)`,
    message: `${subject}\n\n${lines.join("\n")}${lines.length > 0 ? "\n" : ""}${report.source.commit ? `\nFrom facts snapshots at ${report.source.commit}.\n` : ""}`,
  };
}

/** One recommendation as an issue or file. */
export function recommendationItem(r: Recommendation, report: ForecastReport): RecommendationItem {
  const deadline = r.deadline.by === "horizon" ? `within the ${report.method.horizonDays}-day horizon (${r.deadline.at.slice(0, 10)}): no runbook with a maintenance window targets this host` : `before ${r.deadline.by === "next-window" ? "the next maintenance window" : "the maintenance window after next"} opens (${r.deadline.at.replace("T", " ").slice(0, 16)}Z${r.deadline.runbook ? `, runbook ${markdownText(r.deadline.runbook)}` : ""})`;
  const summary = [
    `**${r.urgency === "urgent" ? "Urgent" : "Next window"}**: ${markdownText(r.title)}.`,
    "",
    `**Action**: ${markdownText(r.action)}${r.runbook ? ` — schedule it in runbook \`${r.runbook}\`'s window${r.urgency === "urgent" ? ", or act before it: waiting is too late" : ""}` : ""}.`,
    "",
    `Predicted ${deadline}, at the ${Math.round(report.method.confidence * 100)}% interval's pessimistic end.`,
    "",
    "**Evidence**",
    "",
    ...r.evidence.map((e) => `- ${markdownText(e)}`),
    "",
    // No commit here: the text must not change merely because the repository moved on.
    `Recommendation \`${r.id}\`, from \`steward report forecast\` of ${report.generatedAt}. It is updated on every forecast and closed when it no longer holds.`,
  ].join("\n");
  return { id: r.id, title: r.title, body: { summary, details: [] }, labels: [] };
}

import { pointerOf, type Diagnostic } from "../../core/diagnostic.ts";
import { diagnosticAt, type YamlSource } from "../../load/yaml-source.ts";

const HINT =
  "the commands of a local host run on the machine steward runs on, next to its credentials, and anyone who can change this repository's YAML writes them; steward refuses such hosts unless the run passes --allow-local or sets STEWARD_ALLOW_LOCAL=1, so enable it only where this repository is trusted, never for pull requests";

/**
 * `transport: local` is legitimate (a control node maintaining itself) but dangerous:
 * it turns YAML into code run on the steward machine. Each place that sets it — the
 * defaults or a host — gets a warning, so a pull request that adds one is flagged in review.
 */
export function checkLocalTransport(sources: readonly YamlSource[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const source of sources) {
    const value = source.value as { defaults?: { transport?: unknown }; hosts?: Record<string, { transport?: unknown } | null> } | null;
    if (value?.defaults?.transport === "local") {
      out.push(diagnosticAt(source, "/defaults/transport", "inventory/local-transport", "every host defaults to transport: local, so their commands run on the steward machine itself", { severity: "warning", hint: HINT }));
    }
    for (const [name, host] of Object.entries(value?.hosts ?? {})) {
      if (host?.transport !== "local") continue;
      out.push(diagnosticAt(source, pointerOf(["hosts", name, "transport"]), "inventory/local-transport", `host \`${name}\` uses transport: local, so its commands run on the steward machine itself`, { severity: "warning", hint: HINT }));
    }
  }
  return out;
}

import { afterAll, describe, expect, it } from "vitest";
import { RunSecrets } from "../../src/core/secrets.ts";
import { appProbes } from "../../src/facts/apps.ts";
import { gatherFacts } from "../../src/facts/gather.ts";
import type { AppProbe } from "../../src/facts/types.ts";
import type { Runbook } from "../../src/model/types.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { HostTarget } from "../../src/transport/types.ts";
import { host, inventory } from "../plan/fixtures.ts";

// This machine, through the local transport: the facts script and its probes run for real under sh.
const target: HostTarget = { name: "localhost", address: "127.0.0.1", port: 22, user: "root", become: false, hostKeys: [], transport: "local" };
const transport = createTransport({ env: {}, allowLocal: true });
afterAll(() => transport.close());

describe("app version probes", () => {
  it("run apart from the facts script, each failing on its own", async () => {
    const probes: AppProbe[] = [
      { app: "shop", current: "echo 'shop 2.4.1'", available: "printf '2.4.0\\n2.5.0  v2.6.1\\n'" },
      { app: "gone", current: "echo oops >&2; exit 3" },
      { app: "broken", error: "cannot render the version probes: x" },
    ];
    const [result] = await gatherFacts([target], { transport, apps: () => probes });
    if (!result?.ok) throw new Error(JSON.stringify(result));
    expect(result.facts.apps).toEqual({
      shop: { current: "shop 2.4.1", available: ["2.4.0", "2.5.0", "v2.6.1"] },
      gone: { current: "", error: "current_version: exit 3: oops" },
      broken: { current: "", error: "cannot render the version probes: x" },
    });
    // The fixed sections are unaffected.
    expect(result.facts.os.id.length).toBeGreaterThan(0);
  });

  it("are rendered per host with shell-quoted values, runbook vars under host vars", () => {
    const h = { ...host("web-01", ["web"]), vars: { app_dir: "/opt/it's here" } };
    const runbook: Runbook = {
      name: "app-release", targets: "all", file: "runbooks/app-release.yaml", vars: { app_dir: "/opt/default", token: { env: "RELEASE_TOKEN" } },
      steps: [{ kind: "app-upgrade", name: "up", app: "shop", version: "^2.4", current_version: "{{vars.app_dir}}/bin/shop --version", available_versions: "list --token {{vars.token}} {{app.name}} {{app.range}}", install: "x" }],
    };
    const secrets = new RunSecrets({ RELEASE_TOKEN: "t0k-release-1" });
    const probes = appProbes(runbook, inventory([h]), secrets);
    expect(probes("web-01")).toEqual([{ app: "shop", become: false, current: "'/opt/it'\\''s here'/bin/shop --version", available: "list --token t0k-release-1 shop '^2.4'" }]);
    expect(probes("nobody")).toEqual([]);
    // The value was registered while rendering: anything that prints it is redacted.
    expect(secrets.redact("token t0k-release-1")).toBe("token ***");
    // Without the secret in the environment the probe cannot be rendered, and names the variable.
    const [missing] = appProbes(runbook, inventory([h]), new RunSecrets({}))("web-01");
    expect(missing).toEqual({ app: "shop", error: expect.stringContaining("`vars.token`, which is { env: RELEASE_TOKEN }, but RELEASE_TOKEN is not set") });
  });

  it("run without become unless the step asks for it", () => {
    const h = host("web-01", ["web"]);
    const step = { kind: "app-upgrade" as const, app: "shop", version: "^2", current_version: "shop --version", install: "x" };
    const runbook: Runbook = { name: "r", targets: "all", file: "runbooks/r.yaml", steps: [{ ...step, name: "plain" }, { ...step, name: "root", app: "root-shop", become: true }] };
    expect(appProbes(runbook, inventory([h]), new RunSecrets({}))("web-01").map((p) => [p.app, "become" in p && p.become])).toEqual([["shop", false], ["root-shop", true]]);
  });

  it("refuse a secret too short to redact, naming its variable", () => {
    const runbook: Runbook = { name: "r", targets: "all", file: "runbooks/r.yaml", vars: { token: { env: "SHORT_TOKEN" } }, steps: [{ kind: "app-upgrade", name: "up", app: "shop", version: "^2", current_version: "shop --token {{vars.token}}", install: "x" }] };
    expect(() => appProbes(runbook, inventory([host("web-01", ["web"])]), new RunSecrets({ SHORT_TOKEN: "abc" }))("web-01")).toThrow(/SHORT_TOKEN \(vars.token\) is 3 characters long/);
  });
});

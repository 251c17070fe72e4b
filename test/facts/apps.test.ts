import { afterAll, describe, expect, it } from "vitest";
import { appProbes } from "../../src/facts/apps.ts";
import { gatherFacts } from "../../src/facts/gather.ts";
import type { AppProbe } from "../../src/facts/types.ts";
import type { Runbook } from "../../src/model/types.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { HostTarget } from "../../src/transport/types.ts";
import { host, inventory } from "../plan/fixtures.ts";

// This machine, through the local transport: the facts script and its probes run for real under sh.
const target: HostTarget = { name: "localhost", address: "127.0.0.1", port: 22, user: "root", become: false, hostKeys: [], transport: "local" };
const transport = createTransport({ env: {} });
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
    const probes = appProbes(runbook, inventory([h]), { RELEASE_TOKEN: "t0k" });
    expect(probes("web-01")).toEqual([{ app: "shop", current: "'/opt/it'\\''s here'/bin/shop --version", available: "list --token t0k shop '^2.4'" }]);
    expect(probes("nobody")).toEqual([]);
    // Without the secret in the environment the probe cannot be rendered, and says why.
    expect(appProbes(runbook, inventory([h]), {})("web-01")).toEqual([{ app: "shop", error: expect.stringContaining("`vars.token`") }]);
  });
});

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodeFor } from "../../src/cli/exit-codes.ts";
import { StewardError } from "../../src/core/errors.ts";
import type { FactsResult } from "../../src/facts/types.ts";
import { parsePlan, planJson, writePlan } from "../../src/plan/artifact.ts";
import { canonicalJson, sha256 } from "../../src/plan/digest.ts";
import { planDigest, planId, toDocument, type PlanDocument } from "../../src/plan/document.ts";
import { plan } from "../../src/plan/planner.ts";
import type { Plan } from "../../src/plan/types.ts";
import { failed, facts, host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "./fixtures.ts";

/** A plan with upgrades, a reboot, a failure budget and skipped hosts of several kinds. */
function sample(): Plan {
  const hosts = [host("db-01", ["db"], "high"), host("web-01", ["web"], "low"), host("web-02", ["web"]), host("web-03", ["web"]), host("web-04", ["web"])];
  const results = new Map<string, FactsResult>([
    ["db-01", ok("db-01", withUpgrades([up("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"), up("postgresql-16", "16.1-1", "16.2-1")]))],
    ["web-01", ok("web-01", withUpgrades([up("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1")], { reboot: { required: true, reasons: ["/var/run/reboot-required"] } }))],
    ["web-02", ok("web-02", withUpgrades([up("nginx", "1.22.1-9", "1.22.1-10", false)]))],
    ["web-03", failed("web-03")],
  ]);
  return plan({
    inventory: inventory(hosts),
    runbook: runbook({ rollout: { waves: [1, "100%"], order: ["db", "web"], failure_budget: 1 } }),
    facts: results,
    now: NOW,
    toolVersion: "0.1.0",
    inputs: INPUTS,
  });
}

const FILE = "plans/security-patches.json";

/** parsePlan's error for `text`, or undefined when the plan verifies. */
function refusal(text: string): StewardError | undefined {
  try {
    parsePlan(text, FILE);
    return undefined;
  } catch (error) {
    if (error instanceof StewardError) return error;
    throw error;
  }
}

function edited(p: Plan, edit: (doc: PlanDocument) => void): string {
  const doc = JSON.parse(planJson(p)) as PlanDocument;
  edit(doc);
  return `${JSON.stringify(doc, null, 2)}\n`;
}

describe("plan digest", () => {
  const p = sample();
  const text = planJson(p);

  it("is the sha256 of the RFC 8785 form of the written document without id and digest", () => {
    const { id: _id, digest: _digest, ...body } = JSON.parse(text) as PlanDocument;
    expect(p.digest).toBe(sha256(canonicalJson(body)));
    expect(p.digest).toBe(planDigest(toDocument(p)));
    expect(p.id).toBe(`security-patches-20261124T0130-${p.digest.slice(0, 12)}`);
    expect(p.id).toBe(planId("security-patches", p.createdAt, p.digest));
    expect(parsePlan(text, FILE)).toEqual(p);
  });

  it("changes with any content, and not with the clock-free parts staying equal", () => {
    expect(sample().digest).toBe(p.digest);
    const later = plan({ inventory: inventory([host("db-01", ["db"])]), runbook: runbook(), facts: new Map(), now: new Date("2026-11-25T01:30:00Z"), toolVersion: "0.1.0", inputs: INPUTS });
    const earlier = plan({ inventory: inventory([host("db-01", ["db"])]), runbook: runbook(), facts: new Map(), now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(later.digest).not.toBe(earlier.digest);
  });

  it("is shown in the Markdown head, next to the fingerprint", async () => {
    const dir = await mkdtemp(join(tmpdir(), "steward-digest-"));
    try {
      const written = await writePlan(p, dir);
      const md = await readFile(written.markdown, "utf8");
      const lines = md.split("\n");
      const at = lines.indexOf(`| Plan digest | sha256:${p.digest} |`);
      expect(at).toBeGreaterThan(0);
      expect(lines[at - 1]).toBe(`| Fingerprint | ${p.fingerprint} |`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("parsePlan refuses a plan changed after it was written", () => {
  const p = sample();
  const text = planJson(p);

  const tampered: Array<[string, (doc: PlanDocument) => void]> = [
    [
      "a target version",
      (doc) => {
        doc.packages.planned[0]!.to = "9.9.9-1";
      },
    ],
    [
      "an added host with a reboot",
      (doc) => {
        const first = doc.hosts[0]!;
        doc.hosts.push({ ...first, name: "web-04", position: doc.hosts.length + 1, rebootExpected: true, actions: [...first.actions, { step: "reboot if required", index: first.actions.length, kind: "reboot", when: "always", expected: true, because: ["added"] }] });
        doc.rollout.waves.at(-1)!.hosts.push("web-04");
      },
    ],
    [
      "a raised failure budget",
      (doc) => {
        doc.rollout.failureBudget = { spec: 3, allowed: 3, haltsAt: 4 };
      },
    ],
    [
      "a host moved to another wave",
      (doc) => {
        const last = doc.hosts.at(-1)!;
        last.wave = 0;
      },
    ],
    [
      "a removed skipped host",
      (doc) => {
        doc.skipped = doc.skipped.filter((s) => s.host !== "web-03");
      },
    ],
    [
      "the id",
      (doc) => {
        doc.id = doc.id.replace(/-\d{8}T/, "-20261231T");
      },
    ],
    [
      "a digest recomputed but the id left",
      (doc) => {
        doc.packages.planned[0]!.to = "9.9.9-1";
        doc.digest = planDigest(doc);
      },
    ],
  ];

  it.each(tampered)("%s: exit 5, naming the file, hinting to re-plan, quoting nothing", (_, edit) => {
    const error = refusal(edited(p, edit));
    expect(error?.code).toBe("stale-plan");
    expect(exitCodeFor(error)).toBe(5);
    expect(error?.message).toMatch(/^plans\/security-patches\.json: the plan was changed after it was written/);
    expect(error?.hint).toMatch(/re-plan/);
    expect(error?.message).not.toContain("9.9.9");
    expect(error?.message).not.toContain("openssl");
  });

  it("still verifies with keys in another order (the digest is over the canonical form)", () => {
    const reverse = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reverse);
      if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverse(v)]));
      return value;
    };
    const reordered = JSON.stringify(reverse(JSON.parse(text)), null, 2);
    expect(reordered).not.toBe(text.trimEnd());
    expect(parsePlan(reordered, FILE)).toEqual(p);
  });

  it("still verifies with other whitespace", () => {
    const compact = JSON.stringify(JSON.parse(text));
    const wide = `\n\n${JSON.stringify(JSON.parse(text), null, "\t")}\r\n  `;
    expect(parsePlan(compact, FILE)).toEqual(p);
    expect(parsePlan(wide, FILE)).toEqual(p);
  });

  it("refuses an array, reordered hosts and other changes of order that carry meaning", () => {
    const swapped = edited(p, (doc) => doc.hosts.reverse());
    expect(refusal(swapped)?.code).toBe("stale-plan");
    expect(refusal("[]")?.message).toBe(`${FILE}: not a steward plan`);
  });

  it("says to re-plan for a format it does not know, or a plan without one", () => {
    for (const [format, shown, hint] of [
      [3, "plan format 3 was written by an older steward", /^re-plan/],
      [2, "plan format 2 was written by an older steward", /^re-plan/],
      [99, "plan format 99 was written by a newer steward", /or re-plan with this one/],
      [undefined, "a plan without a known format", /^re-plan/],
      ["4", "a plan without a known format", /^re-plan/],
    ] as const) {
      const error = refusal(edited(p, (doc) => void ((doc as { format?: unknown }).format = format)));
      expect(error?.code).toBe("stale-plan");
      expect(error?.message).toBe(`${FILE}: ${shown}; this steward reads format 5 only`);
      expect(error?.hint).toMatch(hint);
    }
  });

  it("refuses a file that breaks the schema with the JSON pointer, not the value", () => {
    const error = refusal(edited(p, (doc) => void ((doc.hosts[0] as { wave: unknown }).wave = "secret-wave")));
    expect(error?.code).toBe("stale-plan");
    expect(error?.message).toContain("at /hosts/0/wave: must be integer");
    expect(error?.message).not.toContain("secret-wave");
    const extra = refusal(edited(p, (doc) => void ((doc as unknown as Record<string, unknown>).approvedBy = "me")));
    expect(extra?.message).toContain("at /: must NOT have additional properties (`approvedBy`)");
    const noDigest = refusal(edited(p, (doc) => void delete (doc as Partial<PlanDocument>).digest));
    expect(noDigest?.message).toContain("must have required property 'digest'");
  });

  it("refuses a repeated key, a decoy a reader would see first, naming its JSON pointer and not its value", () => {
    const decoy = text.replace('  "createdAt":', '  "createdAt": "2099-01-01T00:00:00.000Z",\n  "createdAt":');
    expect(decoy).not.toBe(text);
    const error = refusal(decoy);
    expect(error?.code).toBe("stale-plan");
    expect(exitCodeFor(error!)).toBe(5);
    expect(error?.message).toBe(`${FILE}: the key /createdAt appears twice; steward never writes that, so the plan was changed after it was written`);
    const nested = refusal(text.replace('"wave":', '"wave": 99, "wave":'));
    expect(nested?.message).toMatch(/the key \/hosts\/0\/wave appears twice/);
    expect(nested?.message).not.toContain("99");
    // A key spelled with an escape is the same key.
    expect(refusal(text.replace('  "createdAt":', '  "create\\u0064At": "2099-01-01T00:00:00.000Z",\n  "createdAt":'))?.message).toMatch(/the key \/createdAt appears twice/);
  });

  it("refuses a damaged file, saying where but quoting nothing", () => {
    const error = refusal(text.slice(0, text.length / 2));
    expect(error?.code).toBe("stale-plan");
    expect(error?.message).toMatch(/^plans\/security-patches\.json: not JSON( \(line \d+, column \d+\))?; the plan file is damaged$/);
    expect(refusal('{\n  "a": 1,\n  "b": hunter2\n}')?.message).toBe(`${FILE}: not JSON; the plan file is damaged`);
    expect(refusal('{\n  "a": 1,\n}')?.message).toBe(`${FILE}: not JSON (line 3, column 1); the plan file is damaged`);
  });
});

describe("plans written with a redactor", () => {
  let dir: string;
  beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), "steward-redact-"))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("hold no secret, and their digest and id are those of the content written", async () => {
    const secret = 'hunter2"\\';
    const results = new Map<string, FactsResult>([
      ["db-01", ok("db-01", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1")]))],
      ["web-01", { host: "web-01", ok: false, gatheredAt: "2026-11-22T00:00:00.000Z", error: { kind: "auth-failed", message: `password ${secret} was rejected` } }],
    ]);
    const p = plan({ inventory: inventory([host("db-01", ["db"]), host("web-01", ["web"])]), runbook: runbook(), facts: results, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    const redact = (text: string): string => text.split(secret).join("***");
    const written = await writePlan(p, dir, { redact });
    const json = await readFile(written.json, "utf8");
    const md = await readFile(written.markdown, "utf8");
    expect(json).not.toContain("hunter2");
    expect(md).not.toContain("hunter2");
    expect(json).toContain("password *** was rejected");
    // The redacted plan is a plan of its own: sealed again, and it verifies.
    expect(written.plan.digest).not.toBe(p.digest);
    expect(written.json).toBe(join(dir, `${written.plan.id}.json`));
    expect(parsePlan(json, written.json)).toEqual(written.plan);
    expect(md).toContain(`| Plan digest | sha256:${written.plan.digest} |`);
    // A redactor that finds nothing leaves the plan as it is.
    const same = await writePlan(p, join(dir, "same"), { redact: (t) => t });
    expect(same.plan).toBe(p);
    expect(await readFile(same.json, "utf8")).toBe(planJson(p));
  });
});

describe("schemas/plan.schema.json", () => {
  let dir: string;
  beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), "steward-schema-"))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("accepts every kind of action and skip the planner writes, through parsePlan", async () => {
    const hosts = ["a", "b", "c", "d", "e", "f", "g"].map((n) => host(`host-${n}`, ["web"]));
    const results = new Map<string, FactsResult>([
      ["host-a", ok("host-a", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1")], { apps: { shop: { current: "2.4.0", available: ["2.4.0", "2.5.1", "3.0.0"] } }, installed: [{ name: "openssl", version: "3.0.11-1", arch: "amd64" }, { name: "telnet", version: "0.17-44" }] }))],
      ["host-b", ok("host-b", facts({ packageManager: null }))],
      ["host-c", failed("host-c", "auth-failed")],
      ["host-d", ok("host-d", withUpgrades([up("nginx", "1.22.1-9", "1.22.1-10", false)], { apps: { shop: { current: "2.5.1", available: ["2.5.1"] } } }))],
      ["host-e", ok("host-e", withUpgrades([], { apps: { shop: { current: "2.5.1", available: ["2.5.1"] } } }))],
      ["host-f", ok("host-f", withUpgrades([], { installed: [{ name: "curl", version: "7.88.1-10", status: "half-configured" }] }))],
    ]);
    const rb = runbook({
      window: { timezone: "Europe/Berlin", days: ["tue", "wed"], start: "02:00", duration: "3h" },
      rollout: { waves: [1, "50%", "100%"], failure_budget: "10%", concurrency: 2, group_concurrency: { web: 1 }, gate: { checks: [{ type: "load", max_per_cpu: 2 }], pause: "5m" }, serial_within_group: true },
      policy: { security_only: true, deny: ["linux-image-*"] },
      steps: [
        { kind: "check", name: "pre-flight", checks: [{ type: "load", max_per_cpu: 2 }] },
        { kind: "packages", name: "updates", action: "upgrade" },
        { kind: "packages", name: "tools", action: "install", packages: ["htop", { name: "jq", version: "1.6-2.1" }] },
        { kind: "packages", name: "old", action: "remove", packages: ["telnet"] },
        { kind: "app-upgrade", name: "shop", app: "shop", version: "^2.4", current_version: "shop --version", available_versions: "ls /srv/releases", install: "install {{app.version}}", hosts: "host-a" },
        { kind: "command", name: "note", command: "true" },
        { kind: "reboot", name: "reboot", when: "always" },
      ],
    });
    const p = plan({ inventory: inventory(hosts), runbook: rb, facts: results, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    const kinds = new Set(p.hosts.flatMap((h) => h.actions.map((a) => ("action" in a ? `${a.kind}:${a.action}` : a.kind))));
    expect([...kinds].sort()).toEqual(["app-upgrade", "check", "command", "packages:install", "packages:remove", "packages:upgrade", "reboot"]);
    expect(Object.keys(p.summary.skippedByReason).sort()).toEqual(["broken-packages", "facts-failed", "no-facts", "no-package-manager"]);
    const written = await writePlan(p, dir);
    expect(parsePlan(await readFile(written.json, "utf8"), written.json)).toEqual(p);
    expect((await readdir(dir)).sort()).toEqual([`${p.id}.json`, `${p.id}.md`]);
  });

  it("accepts a plan of no hosts and one whose window never opens", () => {
    for (const window of [undefined, { timezone: "UTC", days: ["mon" as const], start: "02:00", duration: "1h", not_after: "2026-01-01" }]) {
      const p = plan({ inventory: inventory([host("x", ["web"])]), runbook: runbook(window ? { window } : {}), facts: new Map(), now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
      expect(parsePlan(planJson(p), FILE)).toEqual(p);
    }
  });

  it("is the file the planner's own test plans are checked against", async () => {
    const file = join(dir, "hand.json");
    await writeFile(file, planJson(sample()));
    expect(parsePlan(await readFile(file, "utf8"), file).id).toBe(sample().id);
  });
});

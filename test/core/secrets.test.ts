import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { Redactor, secretForms } from "../../src/core/redact.ts";
import { MIN_SECRET_LENGTH, RunSecrets, SecretError } from "../../src/core/secrets.ts";
import type { Runbook } from "../../src/model/types.ts";
import { host, inventory } from "../plan/fixtures.ts";

// Every character class that some encoding changes: quotes (JSON, shell), slash, plus,
// space and ampersand (URL), underscore and star (Markdown), backslash (JSON).
const SECRET = `Tok_en "v4l/ue" it's+a b&c*\\d`;

/** The forms written out by hand, independently of secretForms. */
const ENCODED = {
  plain: SECRET,
  json: `Tok_en \\"v4l/ue\\" it's+a b&c*\\\\d`,
  url: "Tok_en%20%22v4l%2Fue%22%20it's%2Ba%20b%26c*%5Cd",
  base64: Buffer.from(SECRET).toString("base64"),
  shell: `'Tok_en "v4l/ue" it'\\''s+a b&c*\\d'`,
  markdown: `Tok\\_en "v4l/ue" it's+a b\\&c\\*\\\\d`,
};

describe("secretForms and the Redactor", () => {
  it("lists the value, JSON-escaped, URL-encoded, base64, shell-quoted and Markdown-escaped", () => {
    const forms = secretForms(SECRET);
    for (const [name, form] of Object.entries(ENCODED)) expect(forms, name).toContain(form);
    expect(forms).toContain(ENCODED.base64.replace(/=+$/, ""));
    expect(secretForms("")).toEqual([]);
  });

  it("redacts each form where it appears", () => {
    const redactor = new Redactor();
    redactor.add(SECRET);
    for (const [name, form] of Object.entries(ENCODED)) expect(redactor.redact(`[${form}]`), name).toBe("[***]");
  });

  it("redacts the secret inside longer base64 text, at every alignment and with a trailing newline", () => {
    const redactor = new Redactor();
    redactor.add(SECRET);
    for (const prefix of ["", "u", "us", "user:", "admin:x"]) {
      for (const suffix of ["", "\n", "@host", "xy"]) {
        const encoded = Buffer.from(`${prefix}${SECRET}${suffix}`).toString("base64");
        const out = redactor.redact(encoded);
        expect(out, `${prefix}|${suffix}`).toContain("***");
        // What is left cannot spell the secret: at most the few characters mixing in neighbours.
        expect(out.replace("***", "").length, `${prefix}|${suffix}`).toBeLessThanOrEqual(Math.ceil(((prefix.length + suffix.length) * 4) / 3) + 4);
      }
    }
  });

  it("catches every new form split across every chunk boundary", () => {
    const redactor = new Redactor();
    redactor.add(SECRET);
    const text = `a${ENCODED.json}b${ENCODED.url}c${ENCODED.shell}d${ENCODED.base64}e`;
    for (let cut1 = 0; cut1 <= text.length; cut1 += 2) {
      for (let cut2 = cut1; cut2 <= text.length; cut2 += 5) {
        const stream = redactor.stream();
        const out = [text.slice(0, cut1), text.slice(cut1, cut2), text.slice(cut2)].map((c) => stream.push(c)).join("") + stream.end();
        expect(out).toBe("a***b***c***d***e");
      }
    }
  });
});

describe("URL-encoded secrets", () => {
  // A password with characters each URL encoding treats its own way: `*` (kept by
  // encodeURIComponent and forms, %2A in strict RFC 3986), `"`, `\`, `@`, space, `|`, `` ` ``.
  const PASSWORD = 'Pa_ss*w0rd"x\\y@z |`1';
  // Written out by hand: Python's quote(s, safe=""), curl --data-urlencode, quote_plus, URLSearchParams, lower-case hex.
  const URL_FORMS = {
    encodeURIComponent: "Pa_ss*w0rd%22x%5Cy%40z%20%7C%601",
    rfc3986: "Pa_ss%2Aw0rd%22x%5Cy%40z%20%7C%601",
    rfc3986Lower: "Pa_ss%2aw0rd%22x%5cy%40z%20%7c%601",
    rfc3986Plus: "Pa_ss%2Aw0rd%22x%5Cy%40z+%7C%601",
    quotePlusLower: "Pa_ss%2aw0rd%22x%5cy%40z+%7c%601",
    form: "Pa_ss*w0rd%22x%5Cy%40z+%7C%601",
    formLower: "Pa_ss*w0rd%22x%5cy%40z+%7c%601",
    componentPlus: "Pa_ss*w0rd%22x%5Cy%40z+%7C%601",
  };

  it("registers the RFC 3986, form and lower-case hex forms, with '+' for a space", () => {
    const forms = secretForms(PASSWORD);
    for (const [name, form] of Object.entries(URL_FORMS)) expect(forms, name).toContain(form);
    expect(new URLSearchParams({ p: PASSWORD }).toString()).toBe(`p=${URL_FORMS.form}`);
    expect(forms).toContain(encodeURIComponent(PASSWORD));
  });

  it("redacts each form in text, and streamed across every chunk boundary", () => {
    const redactor = new Redactor();
    redactor.add(PASSWORD);
    for (const [name, form] of Object.entries(URL_FORMS)) expect(redactor.redact(`https://u:${form}@h/?a=${form}&b=1`), name).toBe("https://u:***@h/?a=***&b=1");
    expect(redactor.maxLength).toBeGreaterThanOrEqual(URL_FORMS.rfc3986.length);
    const text = Object.values(URL_FORMS).join("|");
    for (let cut = 0; cut <= text.length; cut++) {
      const stream = redactor.stream();
      const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.end();
      expect(out, String(cut)).toBe(Object.values(URL_FORMS).map(() => "***").join("|"));
    }
  });

  it("keeps redaction fast with many secrets of many forms", () => {
    const redactor = new Redactor();
    for (let i = 0; i < 200; i++) redactor.add(`${PASSWORD}-${i}`);
    const text = "ordinary log line with nothing secret in it\n".repeat(20_000);
    const started = performance.now();
    expect(redactor.redact(text)).toBe(text);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe("RunSecrets", () => {
  const runbook = (over: Partial<Runbook>): Runbook => ({ name: "r", targets: "all", file: "runbooks/r.yaml", steps: [], ...over });

  it("registers every secret the inventory and runbooks name, at any depth", () => {
    const web = { ...host("web-01", ["web"]), vars: { db_password: { env: "DB_PASSWORD" }, tls: { key: { env: "TLS_KEY" } } }, identityPassphraseEnv: "KEY_PASSPHRASE" };
    const inv = inventory([web]);
    inv.groups.get("web")!.vars = { api_token: { env: "API_TOKEN" } };
    const backup = { kind: "backup" as const, name: "b", tool: "restic" as const, repository: "/srv", paths: ["/etc"], password: { env: "RESTIC_PASSWORD" } };
    const secrets = new RunSecrets({ DB_PASSWORD: "db-password-1", TLS_KEY: "tls-key-material", KEY_PASSPHRASE: "ssh-key-passphrase", API_TOKEN: "group-api-token", RESTIC_PASSWORD: "restic-repo-pass", RUNBOOK_VAR: "runbook-variable" });
    secrets.registerRepository(inv, [runbook({ vars: { x: { env: "RUNBOOK_VAR" } }, steps: [backup] })]);
    expect(secrets.redact("db-password-1 tls-key-material ssh-key-passphrase group-api-token restic-repo-pass runbook-variable")).toBe("*** *** *** *** *** ***");
  });

  it("registers credentials already in the environment, whatever the repository says", () => {
    const secrets = new RunSecrets({ GITHUB_TOKEN: "ghs_0123456789abcdef", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG", NPM_TOKEN: "short", HOME: "/home/runner-home" });
    expect(secrets.redact("ghs_0123456789abcdef wJalrXUtnFEMI/K7MDENG short /home/runner-home")).toBe("*** *** short /home/runner-home");
  });

  it("refuses a value shorter than 8 characters, naming the variable and where it is used", () => {
    const inv = inventory([{ ...host("db-01", ["db"]), vars: { db_password: { env: "DB_PASSWORD" } } }, { ...host("db-02", ["db"]), vars: { db_password: { env: "DB_PASSWORD" } } }]);
    const secrets = new RunSecrets({ DB_PASSWORD: "hunter2" });
    const error = (() => {
      try {
        secrets.registerRepository(inv, []);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SecretError);
    const { message, hint } = error as SecretError;
    expect(message).toContain("DB_PASSWORD (used as vars.db_password of host db-01 and 1 more) is 7 characters long");
    expect(message).toContain(`at least ${MIN_SECRET_LENGTH} characters`);
    expect(message).toContain("would blank ordinary text");
    expect(message).not.toContain("hunter2");
    expect(hint).toMatch(/longer credential/);
    // Unset variables are not an error until something reads them.
    expect(() => new RunSecrets({}).registerRepository(inv, [])).not.toThrow();
  });

  it("resolves variables, leaving unset secrets out and listing them", () => {
    const secrets = new RunSecrets({ SET_TOKEN: "set-token-value" });
    expect(secrets.resolveVars({ a: 1, t: { env: "SET_TOKEN" }, u: { env: "UNSET_TOKEN" }, deep: { list: [{ env: "UNSET_TOKEN" }] } })).toEqual({
      vars: { a: 1, t: "set-token-value", deep: { list: [undefined] } },
      missing: [{ key: "u", variable: "UNSET_TOKEN" }, { key: "deep.list.0", variable: "UNSET_TOKEN" }],
    });
  });

  it("emits ::add-mask:: for every form in GitHub Actions, once, escaped, and nothing elsewhere", () => {
    const env = { GITHUB_ACTIONS: "true", MY_TOKEN: "50%\nmulti-line-secret" };
    const secrets = new RunSecrets(env);
    const masks = secrets.takeMasks().split("\n").filter((l) => l !== "");
    expect(masks.every((l) => l.startsWith("::add-mask::"))).toBe(true);
    // A multi-line value is masked line by line (lines too short to mask are left out).
    expect(masks).toContain("::add-mask::multi-line-secret");
    expect(masks.some((l) => l.includes("\n") || l === "::add-mask::50%")).toBe(false);
    const single = new RunSecrets({ GITHUB_ACTIONS: "true", MY_TOKEN: "100%-sure-secret" });
    const lines = single.takeMasks();
    expect(lines).toContain("::add-mask::100%25-sure-secret\n");
    expect(lines).toContain(`::add-mask::${Buffer.from("100%-sure-secret").toString("base64")}\n`);
    expect(lines).toContain(`::add-mask::${encodeURIComponent("100%-sure-secret").replace(/%/g, "%25")}\n`);
    expect(single.takeMasks()).toBe("");
    expect(new RunSecrets({ MY_TOKEN: "100%-sure-secret" }).takeMasks()).toBe("");
  });
});

describe("the CLI as last line of defence", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function repo(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "steward-secrets-cli-"));
    dirs.push(dir);
    await cp(new URL("../fixtures/base", import.meta.url).pathname, dir, { recursive: true });
    await writeFile(join(dir, "inventory/secrets.yaml"), "groups:\n  web:\n    vars:\n      registry_token: { env: REGISTRY_TOKEN }\n");
    return dir;
  }

  async function steward(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string; order: string[] }> {
    let stdout = "";
    let stderr = "";
    const order: string[] = [];
    const io: CliIO = { stdout: (t) => void ((stdout += t), order.push(`out:${t}`)), stderr: (t) => void ((stderr += t), order.push(`err:${t}`)), env, cwd };
    return { code: await main(args, io), stdout, stderr, order };
  }

  it("redacts secrets from error messages it prints, and masks them first in GitHub Actions", async () => {
    const dir = await repo();
    // A selector quoted back in an error: the secret must be valid selector text to get that far.
    const token = "rEgistry-t0ken-2026";
    const r = await steward(["facts", "--limit", `host:${token}`], dir, { REGISTRY_TOKEN: token, GITHUB_ACTIONS: "true" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--limit 'host:***': no host is named `***`");
    expect(r.stderr).not.toContain(token);
    // The masks come before anything else, on stdout.
    expect(r.order[0]).toMatch(/^out:::add-mask::/);
    expect(r.stdout).toContain(`::add-mask::${token}\n`);
    expect(r.stdout).toContain(`::add-mask::${Buffer.from(token).toString("base64")}\n`);
  });

  it("stops with exit 6 on a secret too short to redact, without printing it", async () => {
    const dir = await repo();
    const r = await steward(["facts"], dir, { REGISTRY_TOKEN: "s3cr3t" });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("REGISTRY_TOKEN (used as vars.registry_token of host web-01 and 2 more) is 6 characters long");
    expect(r.stderr).not.toContain("s3cr3t");
  });
});

import { describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { InertStream, trustedCommands } from "../../src/cli/workflow-commands.ts";
import { runnerCommand, runnerCommands, runnerLines } from "./runner-model.ts";

/** What a hostile host prints, in every form the runner would read as a command. */
const HOSTILE = [
  "::add-mask::steward",
  "::stop-commands::c0ffee",
  "::error file=a,line=1::pwned",
  "::set-output name=approved::true",
  "::ERROR::upper case",
  "   ::warning::indented",
  "\t::notice::tabbed",
  "\u00a0\u3000::debug::unicode spaces",
  "\u0085::group::next line character",
  "\u2028::endgroup::line separator, which ReadLine keeps in the line",
  "##[add-mask]steward",
  "output before ##[set-output name=x;]legacy anywhere in a line",
  "###[error]three hashes",
  "::##[error]both",
];

describe("the output layer in GitHub Actions", () => {
  it("the model agrees the hostile lines are commands as they are", () => {
    for (const line of HOSTILE) expect(runnerCommand(line), JSON.stringify(line)).toBeDefined();
  });

  it("makes every hostile line inert and keeps its text readable", () => {
    const stream = new InertStream();
    const out = stream.inert(HOSTILE.map((l) => `${l}\n`).join(""));
    expect(runnerCommands(out)).toEqual([]);
    expect(runnerLines(out)).toHaveLength(HOSTILE.length);
    expect(runnerLines(out)[0]).toBe(":\\:add-mask::steward");
    expect(runnerLines(out)[10]).toBe("##\\[add-mask]steward");
    expect(runnerLines(out)[5]).toBe("   :\\:warning::indented");
  });

  it("after a lone carriage return, \\r\\n, or a write that ended a line", () => {
    const stream = new InertStream();
    const out = stream.inert("progress 10%\r::add-mask::x\r\n::error::y\n") + stream.inert("::warning::z\n");
    expect(runnerCommands(out)).toEqual([]);
  });

  it("across writes that split a command: ':' then ':error::', '##' then '[error]', white space then '::'", () => {
    const stream = new InertStream();
    const pieces = [":", ":error::split colon\n", "text ##", "[error]split legacy\n", "#", "#", "[warning]one at a time\n", "  ", "::notice::after spaces\n"];
    const out = pieces.map((p) => stream.inert(p)).join("");
    expect(runnerCommands(out)).toEqual([]);
  });

  it("leaves ordinary text alone", () => {
    const stream = new InertStream();
    const text = "a::b\n# heading\n#[x]\n| host | ::1 |\nhttp://h:80/x\n: single colon\n";
    expect(stream.inert(text)).toBe(text);
  });

  it("steward's own commands pass whole, on a line of their own; anything else in them is made inert", () => {
    const stream = new InertStream();
    let out = stream.inert("partial line without a newline");
    out += trustedCommands(stream, "::add-mask::s3cret-value\n::error file=inventory/a.yaml,line=3,col=5,title=schema/unknown-key::unknown key%0Ahint\n");
    out += trustedCommands(stream, "2 more problems ##[error]x\n::stop-commands\n");
    expect(runnerLines(out)[0]).toBe("partial line without a newline");
    expect(runnerCommands(out)).toEqual(["add-mask", "error"]);
    expect(out).toContain("2 more problems ##\\[error]x\n");
  });
});

describe("a hostile host's output reaching the CLI's printed lines", () => {
  async function steward(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd: "/" };
    return { code: await main(argv, io), stdout, stderr };
  }

  it("an error quoting host text prints no command in Actions, and steward's masks still work", async () => {
    // An unknown command name is echoed in the error: the stand-in for any quoted text.
    const token = "ghs_0123456789abcdefghijABCDEFGHIJ012345";
    const r = await steward(["\r::stop-commands::x\r##[add-mask]y"], { GITHUB_ACTIONS: "true", GITHUB_TOKEN: token });
    expect(r.code).toBe(2);
    expect(runnerCommands(r.stderr)).toEqual([]);
    expect(new Set(runnerCommands(r.stdout))).toEqual(new Set(["add-mask"]));
    const outside = await steward(["##[add-mask]y"], {});
    expect(outside.stderr).toContain("unknown command '##[add-mask]y'");
  });
});

describe("steward run in GitHub Actions, against a host that prints workflow commands", () => {
  // A real host (this machine, through transport: local) whose command prints what a
  // compromised host would: every form of command, then fails so its output tail is shown.
  const INVENTORY = "hosts:\n  hostile-01:\n    address: localhost\n    transport: local\n";
  const RUNBOOK = `name: hostile-output
targets: all
steps:
  - kind: command
    name: prints commands
    command: printf '%s\\n' '::stop-commands::c0ffee' '##[add-mask]steward' '::set-output name=approved::true' ' ::error::pwned'; printf 'x\\r::warning::after CR'; exit 3
`;

  it("prints the host's text inert on every line, and steward's own masks still reach the runner", async () => {
    const { mkdtemp, mkdir, writeFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const repo = await mkdtemp(join(tmpdir(), "steward-actions-"));
    try {
      await mkdir(join(repo, "inventory"));
      await mkdir(join(repo, "runbooks"));
      await writeFile(join(repo, "inventory/hosts.yaml"), INVENTORY);
      await writeFile(join(repo, "runbooks/hostile-output.yaml"), RUNBOOK);
      let stdout = "";
      let stderr = "";
      const token = "ghs_0123456789abcdefghijABCDEFGHIJ012345";
      const env = { GITHUB_ACTIONS: "true", CI: "true", GITHUB_TOKEN: token, PATH: process.env["PATH"] ?? "/usr/bin:/bin" };
      const code = await main(["run", "hostile-output", "--allow-local"], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd: repo });
      expect([1, 4], stderr).toContain(code);
      expect(new Set(runnerCommands(stdout))).toEqual(new Set(["add-mask"]));
      expect(stdout).toMatch(/^::add-mask::ghs_0123456789abcdefghijABCDEFGHIJ012345$/m);
      // The post-incident write-up shows the failed command's output tail: the host's text, printed.
      const runId = /^run (\S+): /m.exec(stdout)![1]!;
      let written = "";
      let errors = "";
      expect(await main(["report", "postmortem", runId, "--stdout"], { stdout: (t) => void (written += t), stderr: (t) => void (errors += t), env, cwd: repo }), errors).toBe(0);
      // The host's words are there, for a person to read...
      expect(written).toContain(":\\:stop-commands::c0ffee");
      expect(written).toContain("##\\[add-mask]steward");
      expect(written).toContain(":\\:set-output name=approved::true");
      // ...and the runner would execute none of them: only steward's own masks of the token, as in the run.
      const masks = new Set(runnerLines(stdout).filter((l) => l.startsWith("::add-mask::")));
      expect(masks.size).toBeGreaterThan(0);
      expect(runnerCommands(runnerLines(written).filter((l) => !masks.has(l)).join("\n"))).toEqual([]);
      expect(runnerCommands(errors)).toEqual([]);
      // The same write-up outside Actions is the host's text as it was.
      let plain = "";
      await main(["report", "postmortem", runId, "--stdout"], { stdout: (t) => void (plain += t), stderr: () => undefined, env: { PATH: env.PATH }, cwd: repo });
      expect(plain).toMatch(/^::stop-commands::c0ffee$/m);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });
});

describe("steward validate --format github in Actions", () => {
  it("its annotations still reach the runner as commands, one per problem", async () => {
    const { cp, mkdtemp, rm, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const root = await mkdtemp(join(tmpdir(), "steward-annotations-"));
    try {
      await cp(new URL("../fixtures/base", import.meta.url).pathname, root, { recursive: true });
      await writeFile(join(root, "inventory/extra.yaml"), 'hosts:\n  web-09:\n    adress: 10.9.9.9\n    "##[add-mask]x": 1\n');
      let stdout = "";
      const code = await main(["validate", "--root", root, "--format", "github"], { stdout: (t) => void (stdout += t), stderr: () => undefined, env: { GITHUB_ACTIONS: "true" }, cwd: "/" });
      expect(code).toBe(3);
      expect(runnerCommands(stdout)).toEqual(["error", "error", "error"]);
      expect(stdout).toContain("unknown key `##[add-mask]x`");
      expect(stdout).toMatch(/^::error file=inventory\/extra.yaml,line=3,col=5,title=schema\/unknown-key::unknown key `adress`/m);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

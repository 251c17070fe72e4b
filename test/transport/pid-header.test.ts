import { describe, expect, it } from "vitest";
import { PidHeader } from "../../src/transport/ssh/pid-header.ts";

/** Feeds `text` in chunks cut at `cuts`, returning the output and the PID found. */
function feed(header: PidHeader, parts: readonly string[]): { out: string; pid: number | undefined } {
  const out = [...parts.map((p) => header.push(Buffer.from(p, "latin1"))), header.end()].map((b) => b.toString("latin1")).join("");
  return { out, pid: header.pid };
}

describe("PidHeader", () => {
  it("takes the tagged PID line out wherever it comes, output before and after kept, at every chunk boundary", () => {
    const probe = new PidHeader();
    for (const before of ["", "Welcome to prod!\n", "no newline ", "@@steward-pid-0000000000000000@@ 666\n"]) {
      const text = `${before}${probe.tag}4242\nreal output\n`;
      for (let cut = 0; cut <= text.length; cut++) {
        const header = new PidHeader();
        const line = text.replace(probe.tag, header.tag);
        const shifted = Math.min(cut, line.length);
        expect(feed(header, [line.slice(0, shifted), line.slice(shifted)]), `${JSON.stringify(before)} ${cut}`).toEqual({ out: `${before}real output\n`, pid: 4242 });
      }
    }
  });

  it("passes on output without a PID line and does not hold back more than a tag's length", () => {
    const header = new PidHeader();
    const flood = "x".repeat(100_000);
    const out = header.push(Buffer.from(flood)).toString();
    expect(flood.length - out.length).toBeLessThan(header.tag.length);
    expect(header.end().toString()).toBe(flood.slice(out.length));
    expect(header.pid).toBeUndefined();
    const noPid = new PidHeader();
    expect(feed(noPid, [`${noPid.tag}not-a-pid\nrest`])).toEqual({ out: "rest", pid: undefined });
    const endless = new PidHeader();
    expect(feed(endless, [`${endless.tag}${"9".repeat(40)}`])).toEqual({ out: `${endless.tag}${"9".repeat(40)}`, pid: undefined });
  });

  it("prints its tag and the shell's PID with printf, nothing else", () => {
    const header = new PidHeader();
    expect(header.tag).toMatch(/^@@steward-pid-[0-9a-f]{16}@@ $/);
    expect(header.command).toBe(`printf '%s%s\\n' '${header.tag}' "$$"`);
  });
});

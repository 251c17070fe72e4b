import { describe, expect, it } from "vitest";
import { markdownText, plainLine, terminalCell, terminalText } from "../../src/core/text.ts";
import { HOSTILE } from "./hostile-text.ts";


describe("terminal text", () => {
  it("removes escape sequences whole, not just the ESC byte", () => {
    expect(terminalText(HOSTILE.clear)).toBe("pkgname");
    expect(terminalText(HOSTILE.title)).toBe("pkgname");
    expect(terminalText(HOSTILE.titleSt)).toBe("pkgname");
    expect(terminalText(HOSTILE.unterminated)).toBe("pkg");
    expect(terminalText(HOSTILE.c1Csi)).toBe("pkgname");
    expect(terminalText("a\x1b(Bb\x1bcc\x1b7d")).toBe("abcd");
  });

  it("treats a lone carriage return as a line break, so it cannot overwrite a line", () => {
    expect(terminalText(HOSTILE.carriage)).toBe("ok\n# Injected heading");
    expect(terminalText(HOSTILE.crlf)).toBe("a\nb");
    expect(terminalText("a\u2028b\u0085c")).toBe("a\nb\nc");
    expect(terminalCell(HOSTILE.carriage)).toBe("ok # Injected heading");
    expect(terminalCell("a\tb\nc")).toBe("a b c");
  });

  it("removes bidi and other controls and keeps ordinary text", () => {
    expect(terminalText(HOSTILE.bidi)).toBe("abcfedx");
    expect(terminalText(HOSTILE.nul)).toBe("abcd");
    expect(terminalText("Débian ✓ 12\tx")).toBe("Débian ✓ 12\tx");
    expect(terminalText(undefined)).toBe("");
  });
});

describe("plain line", () => {
  it("keeps one line: breaks and tabs as spaces, controls, escapes and every format character removed", () => {
    expect(plainLine("a\nb\r\nc\rd\te\u2028f")).toBe("a b c d e f");
    expect(plainLine("x\u202ey\u2066z\u2069\u200e\u200f\u061c\u200b\ufeff\u00ad.")).toBe("xyz.");
    expect(plainLine("pkg\x1b[2Jname\x1b]0;title\x07!")).toBe("pkgname!");
    expect(plainLine(undefined)).toBe("");
  });
});

describe("markdown text", () => {
  it("keeps every value on its line", () => {
    for (const value of Object.values(HOSTILE)) expect(markdownText(value)).not.toMatch(/[\r\n\u2028\u2029\x1b\u202E]/);
    expect(markdownText(HOSTILE.carriage)).toBe("ok # Injected heading");
  });

  it("escapes inline syntax, table cells and link or image forms", () => {
    expect(markdownText(HOSTILE.cell)).toBe("\\| cell \\|");
    expect(markdownText("*a*_b_`c`~d~<b>&amp;")).toBe("\\*a\\*\\_b\\_\\`c\\`\\~d\\~\\<b\\>\\&amp;");
    expect(markdownText("![x](http://e/x.png)")).toBe("\\!\\[x\\]\\(http\u2060://e/x.png)");
    expect(markdownText("$x^2$ and \\")).toBe("\\$x^2\\$ and \\\\");
  });

  it("escapes line-start syntax at the start of a value and leaves versions readable", () => {
    expect(markdownText("# title")).toBe("\\# title");
    expect(markdownText("- item")).toBe("\\- item");
    expect(markdownText("+ item")).toBe("\\+ item");
    expect(markdownText("===")).toBe("\\===");
    expect(markdownText("> quote")).toBe("\\> quote");
    expect(markdownText("1. item")).toBe("1\\. item");
    expect(markdownText("12) item")).toBe("12\\) item");
    expect(markdownText("1.2.3-1~deb12u1")).toBe("1.2.3-1\\~deb12u1");
  });

  it("neutralises GFM autolinks (www. and scheme URLs) with a word joiner, so no name becomes a live link", async () => {
    expect(markdownText("www.evil.example")).toBe("www\u2060.evil.example");
    expect(markdownText("see https://evil.example/x and HTTP://a.b, ftp://c.d")).toBe("see https\u2060://evil.example/x and HTTP\u2060://a.b, ftp\u2060://c.d");
    // Words that merely contain the letters stay as they are.
    expect(markdownText("awww.x shttp://y")).toBe("awww.x shttp://y");
    // As GitHub's renderer would link them (marked, GFM): no link left.
    const { marked } = await import("marked");
    for (const value of ["www.evil.example", "https://evil.example", "group www.evil.example here"]) expect(await marked.parse(markdownText(value), { gfm: true })).not.toContain("<a ");
    expect(await marked.parse("www.evil.example", { gfm: true })).toContain("<a ");
  });

  it("neutralises mentions and issue references with a word joiner", () => {
    expect(markdownText(HOSTILE.mention)).toBe("@\u2060org/team");
    expect(markdownText("cc @alice")).toBe("cc @\u2060alice");
    expect(markdownText(HOSTILE.issue)).toBe("\\#\u20601");
    expect(markdownText("fixes #1")).toBe("fixes #\u20601");
    expect(markdownText(HOSTILE.crossRepo)).toBe("owner/repo#\u2060123");
    expect(markdownText(HOSTILE.gh)).toBe("GH-\u2060123");
    expect(markdownText("2gh-1")).toBe("2gh-\u20601");
    // What GitHub links: @name, #digits, GH-digits; none survives.
    for (const value of Object.values(HOSTILE)) expect(markdownText(value)).not.toMatch(/@[A-Za-z0-9]|#\d|GH-\d/i);
  });
});

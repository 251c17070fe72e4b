/** Hostile values a host can report, each a kind of terminal or Markdown injection. */
export const HOSTILE = {
  clear: "pkg\x1b[2Jname",
  title: "pkg\x1b]0;pwned title\x07name",
  titleSt: "pkg\x1b]0;pwned\x1b\\name",
  unterminated: "pkg\x1b]0;swallowed",
  c1Csi: "pkg\u009b31mname",
  carriage: "ok\r# Injected heading",
  crlf: "a\r\nb",
  bidi: "abc\u202Efed\u2066x\u2069\u200E\u061C",
  mention: "@org/team",
  issue: "#1",
  crossRepo: "owner/repo#123",
  gh: "GH-123",
  cell: "| cell |",
  nul: "a\x00b\x07c\x7fd",
};

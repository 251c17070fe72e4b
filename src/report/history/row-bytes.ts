/**
 * The values of a format-2 snapshot row that a pending-updates report does not use
 * (disks, memory, load, uptimeSeconds), checked against their grammar from their bytes
 * without building them: every report checks every line whole, and building a disk
 * array and a number object per value only to check and drop it cost more than the rest
 * of the report.
 *
 * Each check accepts only the writer's plain form (src/facts/snapshot-line.ts, what
 * JSON.stringify writes: no white space, decimal numbers without exponent or sign,
 * mounts of printable ASCII without escapes) and only values the grammar accepts
 * (./snapshot-grammar.ts); {@link splitWriterRow} splits a whole row so. Anything else — a value that breaks a rule, or a valid one
 * written another way (`1e3`, `"\/var"`, `-0`) — is declined: the caller then parses the
 * row and the full grammar judges it and names the problem. So these checks never
 * accept what the grammar refuses; the bytes given were already split as JSON
 * (./json-row.ts). None allocates.
 */
import { FALSE, lastStringPlain, scanContainer, scanLiteral, scanString, TRUE, type RowSlices } from "./json-row.ts";
import { MAX_DISKS, MAX_LOAD, MAX_UPTIME, ROW_LENGTH, UNREACHABLE_ROW_LENGTH } from "./snapshot-grammar.ts";

const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
/** Longest mount path accepted (PATH_MAX), in bytes: the grammar's limit. */
const MAX_PATH = 4096;

// The value of the last whole number scanned (exact: at most 2^53 - 1).
let whole = 0;

/** The offset past a whole number of at most 2^53 - 1 at `i` (no sign, fraction or exponent; "0" or no leading zero), setting `whole`; -1 otherwise. */
function scanWhole(b: Uint8Array, i: number, end: number): number {
  const start = i;
  let value = 0;
  while (i < end && b[i]! >= ZERO && b[i]! <= NINE) {
    value = value * 10 + (b[i]! - ZERO);
    i++;
  }
  const digits = i - start;
  if (digits === 0 || digits > 16 || (digits > 1 && b[start] === ZERO) || value > Number.MAX_SAFE_INTEGER) return -1;
  whole = value;
  return i;
}

/**
 * The offset past a reading from 0 up to (not including) `max` at `i`: a whole number
 * with an optional decimal fraction; -1 otherwise (a reading of `max` or more, or any
 * other form, is declined).
 */
function scanReading(b: Uint8Array, i: number, end: number, max: number): number {
  i = scanWhole(b, i, end);
  if (i < 0 || whole >= max) return -1;
  if (i < end && b[i] === DOT) {
    i++;
    const start = i;
    while (i < end && b[i]! >= ZERO && b[i]! <= NINE) i++;
    if (i === start) return -1;
  }
  return i;
}

/** The offset past `[[<mount>,<size>,<used>],…]` at `start` (each mount an absolute path of printable ASCII without escapes, listed once; sizes whole bytes), or -1. */
export function scanDisks(b: Uint8Array, start: number, end: number): number {
  if (b[start] !== OPEN) return -1;
  let i = start + 1;
  if (b[i] === CLOSE) return i + 1;
  let disks = 0;
  for (;;) {
    if (++disks > MAX_DISKS || b[i] !== OPEN || b[i + 1] !== QUOTE || b[i + 2] !== SLASH) return -1;
    const mount = i + 2;
    i += 2;
    while (i < end && b[i] !== QUOTE) {
      const c = b[i]!;
      if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
      i++;
    }
    const mountEnd = i;
    if (i >= end || mountEnd - mount > MAX_PATH || b[i + 1] !== COMMA) return -1;
    if (repeatsMount(b, start + 1, mount, mountEnd)) return -1;
    i = scanWhole(b, i + 2, end);
    if (i < 0 || b[i] !== COMMA) return -1;
    i = scanWhole(b, i + 1, end);
    if (i < 0 || b[i] !== CLOSE) return -1;
    i++;
    if (b[i] === CLOSE) return i + 1;
    if (b[i] !== COMMA) return -1;
    i++;
  }
}

/** Whether the mount at `b[mount, mountEnd)` appeared among the disks from `from` before it (each `["<mount>",` opens a disk). */
function repeatsMount(b: Uint8Array, from: number, mount: number, mountEnd: number): boolean {
  const length = mountEnd - mount;
  // Walk the earlier disks: each starts with `["`, its mount ends at the next quote.
  let i = from;
  while (i + 2 < mount) {
    const m = i + 2;
    let e = m;
    while (b[e] !== QUOTE) e++;
    if (e - m === length) {
      let same = true;
      for (let k = 0; k < length; k++) if (b[m + k] !== b[mount + k]) {
        same = false;
        break;
      }
      if (same) return true;
    }
    // Past this disk's closing bracket and the comma after it (its numbers hold no bracket).
    i = e;
    while (b[i] !== CLOSE) i++;
    i += 2;
  }
  return false;
}

/** The offset past `[<totalBytes>,<availableBytes>]` at `start` (whole bytes, available at most the total), or -1. */
export function scanMemory(b: Uint8Array, start: number, end: number): number {
  if (b[start] !== OPEN) return -1;
  let i = scanWhole(b, start + 1, end);
  if (i < 0 || b[i] !== COMMA) return -1;
  const total = whole;
  i = scanWhole(b, i + 1, end);
  return i >= 0 && b[i] === CLOSE && whole <= total ? i + 1 : -1;
}

/** The offset past `[<one>,<five>,<fifteen>,<cpus>]` at `start` (readings below Linux's most tasks, the grammar's MAX_LOAD; cpus a whole number 1 to 65,536), or -1. */
export function scanLoad(b: Uint8Array, start: number, end: number): number {
  if (b[start] !== OPEN) return -1;
  let i = start + 1;
  for (let k = 0; k < 3; k++) {
    i = scanReading(b, i, end, MAX_LOAD);
    if (i < 0 || b[i] !== COMMA) return -1;
    i++;
  }
  i = scanWhole(b, i, end);
  return i >= 0 && b[i] === CLOSE && whole >= 1 && whole <= 65_536 ? i + 1 : -1;
}

/**
 * Splits `b[start, end)` as a format-2 row in the writer's plain form, into `out`: host,
 * takenAt, groups (and for a reachable host os, disks, memory, load, uptimeSeconds,
 * bootId, rebootRequired, upgradable), with no white space; disks, memory, load and
 * uptime checked against their grammar as they are scanned (above), every other value
 * checked to be JSON (./json-row.ts). True when the whole line is such a row; false for
 * anything else, which the caller then parses and judges in full.
 */
export function splitWriterRow(b: Uint8Array, start: number, end: number, out: RowSlices): boolean {
  if (b[start] !== OPEN || b[end - 1] !== CLOSE) return false;
  out.count = 0;
  out.plain = 0;
  let i = start + 1;
  for (let col = 0; col < ROW_LENGTH; col++) {
    out.starts[col] = i;
    let next: number;
    if (col === 4) next = scanDisks(b, i, end);
    else if (col === 5) next = scanMemory(b, i, end);
    else if (col === 6) next = scanLoad(b, i, end);
    else if (col === 7) next = scanReading(b, i, end, MAX_UPTIME);
    else if (col === 9) next = b[i] === 0x74 ? scanLiteral(b, i, end, TRUE) : scanLiteral(b, i, end, FALSE);
    else if (col === 2 || col === 10) next = b[i] === OPEN ? scanContainer(b, i, end - 1) : -1;
    else {
      next = b[i] === QUOTE ? scanString(b, i, end - 1) : -1;
      if (next >= 0 && lastStringPlain()) out.plain |= 1 << col;
    }
    if (next < 0) return false;
    out.ends[col] = next;
    out.count = col + 1;
    if (next === end - 1) return col === ROW_LENGTH - 1 || col === UNREACHABLE_ROW_LENGTH - 1;
    if (b[next] !== COMMA) return false;
    i = next + 1;
  }
  return false;
}

/**
 * Checks a five-field cron expression against the grammar of POSIX crontab(5) as Vixie
 * cron and GitHub Actions' `on.schedule` read it: minute (0–59), hour (0–23), day of
 * month (1–31), month (1–12 or jan–dec), day of week (0–7, 0 and 7 both Sunday, or
 * sun–sat). Each field is a list (`,`) of `*`, a value, or a range `a-b`, each
 * optionally stepped (`*∕15`, `1-30∕2`, `5∕10`); names are case-insensitive and allowed
 * in ranges (`mon-fri`). The shortcuts `@hourly`, `@daily`, `@weekly` and `@monthly`
 * are accepted as such.
 *
 * The schema only checks the shape (five words); this says which value is out of range,
 * so `99 99 * * funday` is refused where it is written, not silently never run.
 */

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const;
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

const FIELDS: readonly Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day of week", min: 0, max: 7, names: DAYS },
];

const SHORTCUTS = new Set(["@hourly", "@daily", "@weekly", "@monthly"]);

/** One value of a field: a number in range or a name; an error message when neither. */
function value(text: string, field: Field): number | string {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= field.min && n <= field.max ? n : `${field.name} ${text} is out of range ${field.min}–${field.max}`;
  }
  const index = field.names?.indexOf(text.toLowerCase() as never) ?? -1;
  if (index >= 0) return field.names === MONTHS ? index + 1 : index;
  if (field.names) return `\`${text}\` is not a ${field.name}: use ${field.min}–${field.max} or ${field.names[0]}–${field.names.at(-1)}`;
  return `\`${text}\` is not a ${field.name}: use a number ${field.min}–${field.max}`;
}

/** Why one list item of a field is wrong, or undefined when it is right. */
function itemError(item: string, field: Field): string | undefined {
  const [range = "", step, extra] = item.split("/");
  if (extra !== undefined) return `\`${item}\` has two steps ('/')`;
  if (step !== undefined) {
    if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > field.max) return `the step in \`${item}\` must be a number from 1 to ${field.max}`;
  }
  if (range === "*") return undefined;
  const [from = "", to, more] = range.split("-");
  if (more !== undefined || from === "" || to === "") return `\`${item}\` is not a value or a range a-b`;
  const a = value(from, field);
  if (typeof a === "string") return a;
  if (to === undefined) return undefined;
  const b = value(to, field);
  if (typeof b === "string") return b;
  return a <= b ? undefined : `the range \`${range}\` runs backwards`;
}

/** Why a schedule can never be run as written, or undefined when it is a valid cron expression. */
export function cronError(expression: string): string | undefined {
  if (SHORTCUTS.has(expression)) return undefined;
  const words = expression.trim().split(/\s+/);
  if (words.length !== FIELDS.length) return `a cron expression has 5 fields (minute hour day-of-month month day-of-week), not ${words.length}`;
  for (let i = 0; i < FIELDS.length; i++) {
    const field = FIELDS[i]!;
    for (const item of words[i]!.split(",")) {
      const error = itemError(item, field);
      if (error) return error;
    }
  }
  return undefined;
}

// Appends journal records without end until killed: the SIGKILL test's writer.
// argv: <journal path>. Prints "ready <n>" after each 50 durable records.
import { Journal } from "../../../src/apply/journal.ts";

const path = process.argv[2] as string;
const journal = await Journal.create(path, { runId: "r1", planId: "p1", planDigest: "0".repeat(64) });
let n = 1;
for (;;) {
  const batch: Array<Promise<unknown>> = [];
  for (let i = 0; i < 10; i++) batch.push(journal.append({ type: "step-intent", host: `h${n % 7}`, step: `step ${n}`, kind: "command", evidence: { pad: "x".repeat(n % 3000) } }));
  await Promise.all(batch);
  n += 10;
  if (n % 50 === 1) process.stdout.write(`ready ${n}\n`);
}

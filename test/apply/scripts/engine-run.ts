// Runs the resume test's rollout until it is killed: h04 hangs in its second step and
// h05 in its first. argv: <runs dir>. Prints one line per durable event.
import { runEngine } from "../../../src/apply/engine.ts";
import { EventEmitter, type ApplyEvent } from "../../../src/core/events.ts";
import { FakeFleet, newJournal, resumePlan } from "../fixtures.ts";

const plan = resumePlan();
const fleet = new FakeFleet(plan, { h01: { outcome: "failed" }, h04: { stepMsBy: { s2: 600_000 } }, h05: { stepMs: 600_000 } });
const events = new EventEmitter<ApplyEvent>();
events.on((e) => {
  if (e.type === "step-start") process.stdout.write(`step-start ${e.host}/${e.step}\n`);
  if (e.type === "host-end") process.stdout.write(`host-end ${e.host}\n`);
});
await runEngine({ plan, journal: await newJournal(plan, "run-1", process.argv[2]), runHost: fleet.runHost, events });

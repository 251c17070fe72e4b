import type { StepKindModule } from "../types.ts";
import { noRules } from "../will-run.ts";

/**
 * `reboot`: `when: required` (the default) reboots only a host that needs it: one that
 * reports a pending reboot in its facts, or whose kernel an earlier packages step of
 * this plan upgrades; `when: always` reboots every host. The plan records whether a
 * reboot is expected and why; apply issues it, waits up to `wait` for the host to come
 * back, and checks the boot id changed.
 */
export const kind: StepKindModule<"reboot">["kind"] = "reboot";
/** Issuing the reboot and waiting for the host to return; a step's `wait` may ask for longer through `timeout`. */
export const defaultTimeoutMs: StepKindModule<"reboot">["defaultTimeoutMs"] = 10 * 60_000;
export const templatedFields: StepKindModule<"reboot">["templatedFields"] = () => [];
export const validate: StepKindModule<"reboot">["validate"] = noRules;

export const plan: StepKindModule<"reboot">["plan"] = (step, index, host) => {
  const when = step.when ?? "required";
  const because: string[] = [];
  if (when === "always") because.push("the step reboots always");
  else {
    const { reboot } = host.facts;
    if (reboot.required) because.push(...(reboot.reasons.length > 0 ? reboot.reasons.map((r) => `host reports: ${r}`) : ["host reports a pending reboot"]));
    if (host.kernels.length > 0) because.push(`upgrades ${host.kernels.join(", ")}`);
  }
  const expected = because.length > 0;
  host.rebootExpected ||= expected;
  return { step: step.name, index, kind: "reboot", when, expected, because };
};

/** `when: required` was decided from the reboot flag (in the host-wide part of the digest); `when: always` from nothing. */
export const dependsOn: StepKindModule<"reboot">["dependsOn"] = (a) => ({ packages: [], apps: [], host: a.when === "required" });

export const render: StepKindModule<"reboot">["render"] = (a) => ({ notes: [a.expected ? `${a.step}: reboot expected (${a.because.join("; ")})` : `${a.step}: no reboot expected`] });

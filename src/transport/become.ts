import { BecomeError } from "./errors.ts";
import type { Become, ExecResult } from "./types.ts";

/**
 * Interprets the result of `sudo -n -u USER -- true`, the probe run once per
 * connection and become user before the first privileged command. Probing first
 * turns "sudo wants a password" into one clear typed error instead of a failed
 * command whose stderr the caller would have to parse.
 */
export function becomeProbeFailure(
  host: string,
  loginUser: string,
  become: Exclude<Become, false>,
  result: ExecResult,
): BecomeError | undefined {
  if (result.exitCode === 0) return undefined;
  const said = result.stderr.trim();
  const as = `sudo to ${become.user} as ${loginUser}`;
  if (result.exitCode === 127 || /sudo: (command )?not found/.test(said)) {
    return new BecomeError(host, "sudo-missing", `${host}: sudo is not installed`, "install sudo on the host");
  }
  if (/password is required|terminal is required|askpass/i.test(said)) {
    return new BecomeError(host, "password-required", `${host}: ${as} requires a password (sudo -n said: ${said})`, `grant NOPASSWD in sudoers for ${loginUser}`);
  }
  return new BecomeError(host, "not-permitted", `${host}: ${as} is not permitted (exit ${result.exitCode}): ${said}`, "check the sudoers rules for this user");
}

/** The error for a command that asks for become on a host without any. */
export function becomeNotConfigured(host: string): BecomeError {
  return new BecomeError(
    host,
    "not-configured",
    `${host}: a command asks for become, but the host has no become in the inventory`,
    "add become to the host or drop become from the step",
  );
}

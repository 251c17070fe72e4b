import { readFile } from "node:fs/promises";
import ssh2, { type AnyAuthMethod } from "ssh2";
import type { Redactor } from "../../core/redact.ts";
import { AuthFailedError } from "../errors.ts";
import type { HostTarget } from "../types.ts";

/**
 * The authentication methods for one host, in order: the inventory's key file, then
 * the ssh-agent. Passwords and keyboard-interactive are never offered: a maintenance
 * run has nobody to type them and a password in the environment is a weaker secret
 * than a key.
 */
export async function authMethods(
  target: HostTarget,
  env: NodeJS.ProcessEnv,
  redactor: Redactor | undefined,
): Promise<AnyAuthMethod[]> {
  const methods: AnyAuthMethod[] = [];
  if (target.identityFile !== undefined) {
    let passphrase: string | undefined;
    if (target.identityPassphraseEnv !== undefined) {
      passphrase = env[target.identityPassphraseEnv];
      if (passphrase === undefined) {
        throw new AuthFailedError(
          target.name,
          `${target.name}: environment variable ${target.identityPassphraseEnv}, named as the passphrase of ${target.identityFile}, is not set`,
          "set it from the CI secret store",
        );
      }
      redactor?.add(passphrase);
    }
    const text = await readFile(target.identityFile).catch((error: Error) => {
      throw new AuthFailedError(target.name, `${target.name}: cannot read identity file ${target.identityFile}: ${error.message}`);
    });
    const key = ssh2.utils.parseKey(text, passphrase);
    if (key instanceof Error) {
      throw new AuthFailedError(
        target.name,
        `${target.name}: cannot load identity file ${target.identityFile}: ${key.message}`,
        passphrase === undefined ? "if the key is encrypted, name its passphrase variable (identityPassphraseEnv)" : "check the passphrase",
      );
    }
    methods.push({ type: "publickey", username: target.user, key });
  }
  const agent = env["SSH_AUTH_SOCK"];
  if (agent !== undefined && agent !== "") {
    methods.push({ type: "agent", username: target.user, agent });
  }
  if (methods.length === 0) {
    throw new AuthFailedError(
      target.name,
      `${target.name}: no SSH credentials: no identityFile in the inventory and SSH_AUTH_SOCK is not set`,
      "set identityFile for the host or run an ssh-agent",
    );
  }
  return methods;
}

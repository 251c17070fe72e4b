import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
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
    const text = await readKeyFile(target.name, target.identityFile);
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

/**
 * Largest identity file read. OpenSSH private keys are a few KiB (an RSA-16384 key in
 * the OpenSSH format is under 13 KiB); the bound keeps a path such as /dev/zero, which
 * the inventory (and so a pull request) may name, from filling memory.
 */
export const MAX_IDENTITY_FILE_BYTES = 64 * 1024;

/**
 * The bytes of an identity file, read as a path the repository chose: links are followed
 * (~/.ssh/id_ed25519 is often one) but what they end at must be a regular file of at
 * most {@link MAX_IDENTITY_FILE_BYTES}. O_NONBLOCK makes opening a FIFO return at once
 * instead of waiting for a writer; the fstat then refuses it, like a device or a folder.
 * @throws AuthFailedError for the host, naming the file and why it cannot be used.
 */
async function readKeyFile(host: string, path: string): Promise<Buffer> {
  const refuse = (why: string, hint?: string): AuthFailedError => new AuthFailedError(host, `${host}: cannot use identity file ${path}: ${why}`, hint ?? "set identity_file to the private key file itself");
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw refuse(`cannot be opened (${(error as NodeJS.ErrnoException).code ?? String(error)})`, "check the path and that this user may read it");
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw refuse(`not a regular file (${fileKind(stat)})`);
    if (stat.size > MAX_IDENTITY_FILE_BYTES) throw refuse(`larger than ${MAX_IDENTITY_FILE_BYTES} bytes, so not a private key`);
    // Read one byte past the bound, so a file that grows after the fstat is refused too.
    const buffer = Buffer.alloc(MAX_IDENTITY_FILE_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_IDENTITY_FILE_BYTES) throw refuse(`larger than ${MAX_IDENTITY_FILE_BYTES} bytes, so not a private key`);
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof AuthFailedError) throw error;
    throw refuse(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, "check that this user may read it");
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** What a non-regular file is, for the error. */
function fileKind(stat: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (stat.isDirectory()) return "a folder";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a file";
}

import type { Duplex } from "node:stream";
import ssh2, { type Client, type ConnectConfig, type ServerHostKeyAlgorithm } from "ssh2";
import type { Redactor } from "../../core/redact.ts";
import {
  AuthFailedError,
  ConnectTimeoutError,
  ConnectionLostError,
  HostUnreachableError,
  TransportError,
} from "../errors.ts";
import type { HostTarget } from "../types.ts";
import { authMethods } from "./auth.ts";
import type { ConnectDeadline } from "./deadline.ts";
import type { HostKeyStore } from "./host-keys.ts";
import { preferredAlgorithms } from "./known-hosts.ts";

/** ssh2's host-key algorithms, in its default order (ssh2 lib/protocol/constants.js). */
const HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

export interface ConnectSettings {
  hostKeys: HostKeyStore;
  env: NodeJS.ProcessEnv;
  redactor: Redactor | undefined;
  /** Connect limit for targets that set no `connectTimeoutMs` of their own. */
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
}

/** ssh2 marks its errors with the stage that failed. */
interface Ssh2Error extends Error {
  level?: string;
  code?: string;
}

/** Socket errors that mean "nothing answers there (yet)". */
const UNREACHABLE = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET"]);

/**
 * Opens one authenticated SSH connection to `target`, over `sock` when it is reached
 * through a jump host. The host key is checked against the store before any
 * credential is sent, and every failure becomes a typed TransportError. The whole
 * attempt, from reading the keys to successful authentication, ends at `deadline`.
 */
export async function openClient(target: HostTarget, settings: ConnectSettings, deadline: ConnectDeadline, sock?: Duplex): Promise<Client> {
  const prepare = async () => ({
    record: await settings.hostKeys.record(target),
    auth: await authMethods(target, settings.env, settings.redactor),
  });
  const { record, auth } = await deadline.race(prepare()).catch((error: unknown) => {
    sock?.destroy();
    throw error;
  });
  const client = new ssh2.Client();
  let hostKeyFailure: TransportError | undefined;

  const config: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: target.user,
    // Off: `deadline` bounds the attempt, including the steps before the TCP connect.
    readyTimeout: 0,
    keepaliveInterval: settings.keepaliveIntervalMs,
    keepaliveCountMax: 3,
    authHandler: auth,
    algorithms: { serverHostKey: preferredAlgorithms(record.knownTypes, HOST_KEY_ALGORITHMS) },
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
      settings.hostKeys.verify(record, key).then(
        () => verify(true),
        (error: unknown) => {
          hostKeyFailure = error instanceof TransportError ? error : new ConnectionLostError(target.name, String(error));
          verify(false);
        },
      );
    },
  };
  if (sock !== undefined) config.sock = sock;

  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (error: TransportError, close: "end" | "destroy" = "end"): void => {
      if (settled) return;
      settled = true;
      cancelDeadline();
      // A peer that accepted TCP and then fell silent would hold a polite close open.
      if (close === "destroy") client.destroy();
      else client.end();
      reject(error);
    };
    const cancelDeadline = deadline.onExpire(() => fail(deadline.error(), "destroy"));
    client.once("ready", () => {
      settled = true;
      cancelDeadline();
      resolve(client);
    });
    client.on("error", (error: Ssh2Error) => {
      if (settled) return;
      fail(hostKeyFailure ?? classify(target, error, settings, deadline));
    });
    client.once("close", () => {
      fail(hostKeyFailure ?? new ConnectionLostError(target.name, `${target.name}: connection closed during the SSH handshake`));
    });
    client.connect(config);
  });
}

function classify(target: HostTarget, error: Ssh2Error, settings: ConnectSettings, deadline: ConnectDeadline): TransportError {
  const where = `${target.name} (${target.user}@${target.address}:${target.port})`;
  const message = settings.redactor?.redact(error.message) ?? error.message;
  if (error.level === "client-timeout") return deadline.error({ cause: error });
  if (error.level === "client-authentication") {
    return new AuthFailedError(
      target.name,
      `${where}: authentication failed (tried ${describeMethods(target, settings.env)})`,
      "check that the key is in the user's authorized_keys",
      { cause: error },
    );
  }
  if (error.code !== undefined && UNREACHABLE.has(error.code)) {
    return new HostUnreachableError(target.name, `${where}: ${message}`, { cause: error });
  }
  if (error.level === "client-dns") return new HostUnreachableError(target.name, `${where}: ${message}`, { cause: error });
  return new ConnectionLostError(target.name, `${where}: ${message}`, { cause: error });
}

function describeMethods(target: HostTarget, env: NodeJS.ProcessEnv): string {
  const methods: string[] = [];
  if (target.identityFile !== undefined) methods.push(`key ${target.identityFile}`);
  if (env["SSH_AUTH_SOCK"]) methods.push("ssh-agent");
  return methods.join(", ");
}

/** Whether a failed connect is worth retrying: the host may still be booting. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ConnectTimeoutError) return true;
  if (!(error instanceof HostUnreachableError)) return false;
  const cause = error.cause as Ssh2Error | undefined;
  return cause?.code === "ECONNREFUSED" || cause?.code === "ECONNRESET";
}

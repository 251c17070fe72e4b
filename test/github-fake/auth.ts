/**
 * Who may call the fake: plain tokens, and GitHub Apps that trade a JWT (RS256, signed
 * with the App's private key, `iss` = the App id) for an installation token, as
 * `POST /app/installations/{installation_id}/access_tokens` does on GitHub.
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from "node:crypto";
import { DOCS, error, type Reply } from "./reply.ts";
import { app, type Urls } from "./shapes.ts";
import type { Account } from "./state.ts";

/** GitHub's fine-grained permission names the publisher needs. */
export type Permission = "contents" | "pull_requests" | "issues";
export type Permissions = Partial<Record<Permission, "read" | "write">>;

export interface TokenGrant {
  account: Account;
  permissions: Permissions;
}

const ALL_WRITE: Permissions = { contents: "write", pull_requests: "write", issues: "write" };

interface App {
  appId: string;
  slug: string;
  key: KeyObject;
  installationId: string;
  permissions: Permissions;
}

export class AppRegistry {
  private readonly tokens = new Map<string, TokenGrant>();
  private readonly apps = new Map<string, App>();
  /** Installation tokens minted so far, newest last. */
  readonly minted: string[] = [];

  addToken(token: string, account: Account, permissions: Permissions = ALL_WRITE): void {
    this.tokens.set(token, { account, permissions });
  }

  /** Registers an App installation; `publicKeyPem` verifies the App's JWTs. */
  addApp(app: { appId: string | number; slug: string; publicKeyPem: string; installationId: string | number; permissions?: Permissions }): void {
    this.apps.set(String(app.installationId), { appId: String(app.appId), slug: app.slug, key: createPublicKey(app.publicKeyPem), installationId: String(app.installationId), permissions: app.permissions ?? ALL_WRITE });
  }

  /** The grant for an Authorization header (`token X` or `Bearer X`), if any. */
  grant(authorization: string | undefined): TokenGrant | undefined {
    const token = /^(?:token|bearer) (.+)$/i.exec(authorization ?? "")?.[1];
    return token === undefined ? undefined : this.tokens.get(token);
  }

  /**
   * GET /app: the App whose JWT signs the request (its `iss` claim names the App), as
   * GitHub answers it; 401 with GitHub's wording for a JWT no registered App signed.
   */
  authenticatedApp(authorization: string | undefined, now: Date, urls: Urls): Reply {
    const jwt = /^bearer (.+)$/i.exec(authorization ?? "")?.[1];
    if (jwt === undefined || this.grant(authorization) !== undefined) return { status: 401, body: { message: "A JSON web token could not be decoded", documentation_url: DOCS } };
    let issuer: string | undefined;
    try {
      issuer = String((JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as { iss?: unknown }).iss);
    } catch {
      issuer = undefined;
    }
    const found = [...this.apps.values()].find((a) => a.appId === issuer);
    const problem = found === undefined ? "A JSON web token could not be decoded" : checkJwt(jwt, found, now);
    if (found === undefined || problem !== undefined) return { status: 401, body: { message: problem, documentation_url: DOCS } };
    const owner: Account = { login: "acme", id: 4_000_000 + Number(found.appId), type: "User" };
    return { status: 200, body: app(urls, { appId: found.appId, slug: found.slug, owner, permissions: found.permissions as Record<string, string> }) };
  }

  createInstallationToken(installationId: string, authorization: string | undefined, body: Record<string, unknown> | undefined, now: Date): Reply {
    const app = this.apps.get(installationId);
    if (app === undefined) return error(404, "Not Found");
    const jwt = /^bearer (.+)$/i.exec(authorization ?? "")?.[1];
    const problem = jwt === undefined ? "A JSON web token could not be decoded" : checkJwt(jwt, app, now);
    if (problem !== undefined) return { status: 401, body: { message: problem, documentation_url: DOCS } };
    const requested = (body?.["permissions"] as Permissions | undefined) ?? app.permissions;
    const token = `ghs_${randomBytes(18).toString("base64url")}`;
    this.minted.push(token);
    this.addToken(token, { login: `${app.slug}[bot]`, id: 41898282 + Number(app.appId), type: "Bot" }, requested);
    const expires = new Date(now.getTime() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
    return { status: 201, body: { token, expires_at: expires, permissions: requested, repository_selection: "all" } };
  }
}

/** Why a JWT is refused, GitHub's wording; undefined when it is good. */
function checkJwt(jwt: string, app: App, now: Date): string | undefined {
  const [header, payload, signature] = jwt.split(".");
  if (header === undefined || payload === undefined || signature === undefined) return "A JSON web token could not be decoded";
  const ok = verify("RSA-SHA256", Buffer.from(`${header}.${payload}`), app.key, Buffer.from(signature, "base64url"));
  if (!ok) return "A JSON web token could not be decoded";
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { iss?: unknown; exp?: number; iat?: number };
  if (String(claims.iss) !== app.appId) return "'Issuer' claim ('iss') must be an Integer";
  const seconds = now.getTime() / 1000;
  if (typeof claims.exp !== "number" || claims.exp < seconds) return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  if (claims.exp - (claims.iat ?? 0) > 600 + 60) return "'Expiration time' claim ('exp') is too far in the future";
  return undefined;
}

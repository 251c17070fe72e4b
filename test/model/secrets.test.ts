import { describe, expect, it } from "vitest";
import { findInlineSecrets, isSecretName } from "../../src/model/secrets.ts";

describe("secret names", () => {
  it.each(["PGPASSWORD", "MYSQL_PWD", "aws_secret_access_key", "dbPassword", "db_pw", "api-key", "apiKey", "client_secret", "DB_PASSWORD", "github-token", "smtpPassphrase", "private_key", "credentials"])("%s holds a credential", (name) => {
    expect(isSecretName(name)).toBe(true);
  });

  it.each(["password_policy", "token_ttl", "api_key_id", "keyboard", "passenger", "compass", "bypass_cache", "host_keys", "identity_passphrase_env", "sysctl_key"])("%s does not", (name) => {
    expect(isSecretName(name)).toBe(false);
  });
});

describe("inline secrets", () => {
  const reasons = (value: unknown): string[] => findInlineSecrets(value).map((f) => `${f.pointer} ${f.reason}`);

  it("flags literals that only look templated; exempts values that are only templates or $VARs", () => {
    expect(reasons({ db_password: 'hunter2{{""}}' })).toEqual(["/db_password `db_password` holds a literal value"]);
    expect(reasons({ db_password: "pw{{vars.x}}secret" })).toHaveLength(1);
    expect(reasons({ db_password: "{{vars.a}}{{vars.b}}", api_token: "$API_TOKEN", client_secret: "" })).toEqual([]);
  });

  it("finds credentials in commands and URLs, and says where in the string", () => {
    const command = "cd /srv && export PGPASSWORD=xyz && pg_dump";
    expect(findInlineSecrets({ command })).toEqual([expect.objectContaining({ pointer: "/command", index: command.indexOf("PGPASSWORD"), rule: "secrets/inline" })]);
    const url = "postgres://u:pw@host/db";
    expect(findInlineSecrets([url])).toEqual([expect.objectContaining({ pointer: "/0", index: url.indexOf("pw@") })]);
    expect(reasons({ command: 'PGPASSWORD="$DB_PASSWORD" psql', url: "https://user@host/x", other: "PGPASSWORD={{vars.pw}} psql" })).toEqual([]);
    expect(reasons({ command: "mysql --password abc shop" })).toEqual(["/command `--password` is given a literal value"]);
  });

  it("checks { env: NAME } itself", () => {
    const problems = (env: unknown, extra: Record<string, unknown> = {}): unknown[] => findInlineSecrets({ v: { env, ...extra } }).map((f) => [f.pointer, f.rule, f.hint]);
    expect(problems("DB_PASSWORD")).toEqual([]);
    expect(problems("$DB_PASSWORD")).toEqual([["/v/env", "secrets/env-ref", "write the name without `$`: `{ env: DB_PASSWORD }`"]]);
    expect(problems("${DB_PASSWORD}")).toEqual([["/v/env", "secrets/env-ref", "write the name without `$`: `{ env: DB_PASSWORD }`"]]);
    expect(problems("db-password")).toEqual([["/v/env", "secrets/env-ref", "environment names are upper case: `{ env: DB_PASSWORD }`"]]);
    expect(problems("")).toHaveLength(1);
    expect(problems("DB_PASSWORD", { default: "hunter2" })).toEqual([["/v/default", "secrets/env-ref", expect.stringContaining("remove `default:`")]]);
  });
});

import { describe, expect, it } from "vitest";
import { parseYaml } from "../../src/load/yaml-source.ts";
import { validateAgainstSchema } from "../../src/validate/schema.ts";

/**
 * Step fields that reach a shell later are constrained by schemas/runbook.schema.json.
 * The invalid corpus (test/fixtures/invalid/field-*.yaml) shows each refusal with its
 * position; these show that the real values people write still pass.
 */
const errorsFor = (steps: string, extra = ""): string[] => {
  const { source } = parseYaml("runbooks/x.yaml", `name: x\ntargets: all\n${extra}steps:\n${steps}`);
  return validateAgainstSchema(source!, "runbook").map((d) => `${d.pointer} ${d.message}`);
};

describe("runbook field grammar", () => {
  it.each(["nginx", "nginx.service", "getty@tty1.service", "systemd-journald", "user@1000.service", "dev-disk-by\\x2duuid.device", "ssh"])("accepts the service name %j", (service) => {
    expect(errorsFor(`  - { kind: service, name: s, service: ${JSON.stringify(service)}, action: restart }\n`)).toEqual([]);
  });

  it.each(["nginx; touch /tmp/x", "-.mount", "--all", "a b", "nginx\n", "$(id)"])("refuses the service name %j", (service) => {
    expect(errorsFor(`  - { kind: service, name: s, service: ${JSON.stringify(service)}, action: restart }\n`)).toHaveLength(1);
  });

  it.each(["http://127.0.0.1:8080/healthz", "https://[::1]/x?y=1&z=%20#top", "https://api.example.com", "http://web-01.internal/path(1);v=2"])("accepts the URL %j", (url) => {
    expect(errorsFor(`  - { kind: check, name: c, checks: [{ type: endpoint, url: ${JSON.stringify(url)} }] }\n`)).toEqual([]);
  });

  it.each(["tcp://127.0.0.1:5432", "tcp://[::1]:22", "tcp://db-01.internal:6379"])("accepts the TCP endpoint %j", (url) => {
    expect(errorsFor(`  - { kind: check, name: c, checks: [{ type: endpoint, url: ${JSON.stringify(url)} }] }\n`)).toEqual([]);
  });

  it.each(["tcp://host", "tcp://host:22/path", "tcp://-host:22", "udp://host:53"])("refuses the endpoint %j", (url) => {
    expect(errorsFor(`  - { kind: check, name: c, checks: [{ type: endpoint, url: ${JSON.stringify(url)} }] }\n`)).toHaveLength(1);
  });

  it("accepts a packages step's repair and lock_timeout, and a command's unless guard; refuses a lock_timeout of 0", () => {
    expect(errorsFor("  - { kind: packages, name: p, action: upgrade, repair: true, lock_timeout: 120 }\n  - { kind: command, name: c, command: make install, creates: /opt/app/bin/app, unless: test -x /opt/app/bin/app }\n")).toEqual([]);
    expect(errorsFor("  - { kind: packages, name: p, action: upgrade, lock_timeout: 0 }\n")).toHaveLength(1);
  });

  it.each(["ftp://x", "http://a b", "https://u:p@host/", "http://host/\"x\"", "http://-host/", "http://host/`id`"])("refuses the URL %j", (url) => {
    expect(errorsFor(`  - { kind: check, name: c, checks: [{ type: endpoint, url: ${JSON.stringify(url)} }] }\n`)).toHaveLength(1);
  });

  it("accepts dpkg and rpm package names, globs and versions", () => {
    const steps = `  - kind: packages
    name: p
    action: install
    packages: [NetworkManager, "libc6:amd64", g++, python3-PyYAML, "linux-image-*", "libssl[13]*", "web-0[!2]", { name: openssl, version: "3.0.13-1~deb12u1" }, { name: httpd, version: "1:2.4.58-1.fc39" }, { name: musl, version: 1.2.4_git20230717-r4 }]
`;
    expect(errorsFor(steps, "policy: { deny: ['kernel*', 'lib[a-c]*'], holds: [openssl], allow: ['*'] }\n")).toEqual([]);
  });

  it("accepts templated repositories and absolute paths, owners, sysctl keys and sshd settings", () => {
    const steps = `  - { kind: backup, name: b, tool: restic, repository: "{{vars.backup_root}}/{{host.name}}", paths: [/etc, "/var/lib/app data"], tags: [nightly, "host=web-01"] }
  - { kind: backup, name: c, tool: restic, repository: "s3:https://s3.example.com/bucket", paths: [/srv] }
  - { kind: verify-backup, name: v, backup: b, test_restore: { scratch: /tmp/restore, paths: [/etc/hosts] } }
  - kind: compliance
    name: r
    rules:
      - { id: a, check: { type: file, path: /etc/shadow, owner: "root:shadow", mode: "0640" } }
      - { id: b, check: { type: file, path: /etc/x, owner: www-data } }
      - { id: c, check: { type: sysctl, key: net.ipv4.ip_forward, value: "0" } }
      - { id: d, check: { type: sshd, setting: PermitRootLogin, value: "no" } }
  - { kind: check, name: d, checks: [{ type: disk, mount: /var/lib/postgresql, max_used: "90%" }, { type: certificate, path: /etc/ssl/certs/web.pem, min_days_left: 14 }] }
  - { kind: command, name: i, command: init, creates: /var/lib/app/.initialised }
  - { kind: app-upgrade, name: a, app: grafana-agent, version: ^2.4, current_version: v, install: i }
  - { kind: reboot, name: r, reason: "kernel 6.1.90 installed" }
`;
    expect(errorsFor(steps)).toEqual([]);
  });

  it("refuses a reboot reason with control characters", () => {
    expect(errorsFor(`  - { kind: reboot, name: r, reason: "done\\x1b[2J" }\n`)).toHaveLength(1);
  });
});

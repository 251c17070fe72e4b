import { describe, expect, it } from "vitest";
import { parseYaml } from "../../src/load/yaml-source.ts";

describe("merge keys", () => {
  const text = "hosts:\n  a: &a { address: 10.0.0.1, user: deploy }\n  b:\n    <<: *a\n    address: 10.0.0.2\n";

  it("merge the anchored mapping, the host's own keys winning", () => {
    expect(parseYaml("inventory/x.yaml", text).source?.value).toEqual({
      hosts: { a: { address: "10.0.0.1", user: "deploy" }, b: { address: "10.0.0.2", user: "deploy" } },
    });
  });

  it("read the same on the slow path (a shared collection sends the file through the positional parser)", () => {
    const shared = `${text}  c:\n    <<: *a\n    address: 10.0.0.3\n    tags: &t [x]\n  d: { address: 10.0.0.4, tags: *t }\n`;
    const value = parseYaml("inventory/x.yaml", shared).source?.value as { hosts: Record<string, unknown> };
    expect(value.hosts.c).toEqual({ address: "10.0.0.3", user: "deploy", tags: ["x"] });
    expect(value.hosts.d).toEqual({ address: "10.0.0.4", tags: ["x"] });
  });
});

import { describe, expect, it } from "vitest";
import { addressProblem } from "../../src/model/inventory.ts";

describe("host addresses", () => {
  it.each(["10.40.1.12", "0.0.0.0", "255.255.255.255", "2001:db8::12", "::1", "::ffff:10.0.0.1", "fe80::1", "web-01.example.com", "localhost", "db_01.internal"])("accepts %s", (address) => {
    expect(addressProblem(address)).toBeUndefined();
  });

  it.each([
    ["10.40.1.12:2222", "has a port in it", "`port: 2222`"],
    ["web-01:22", "has a port in it", "`address: web-01`"],
    ["10.0.1.256", "256 is over 255", "0 to 255"],
    ["10.0.1", "four numbers", "10.40.1.12"],
    ["10.0.01.1", "leading zero", "drop"],
    ["2001:db8:::1", "not an IPv6 address", "without brackets"],
    ["-web.example.com", "starts or ends with '-'", "check"],
    ["web..example.com", "empty part", "extra dot"],
    [`${"a".repeat(64)}.example.com`, "longer than 63", "paste"],
  ])("refuses %s", (address, message, hint) => {
    const problem = addressProblem(address);
    expect(problem?.message).toContain(message);
    expect(problem?.hint).toContain(hint);
  });
});

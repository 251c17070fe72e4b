import type { PackageManager } from "../facts/types.ts";
import * as apk from "./apk/index.ts";
import * as apt from "./apt/index.ts";
import * as dnf from "./dnf/index.ts";
import type { PackageDriver } from "./types.ts";

/**
 * Every package driver, by the manager name facts report. Adding a manager means a
 * folder under src/drivers/ and a line here; test/drivers/registry.test.ts fails when
 * a folder is not listed.
 */
export const drivers: Readonly<Record<PackageManager, PackageDriver>> = {
  apk,
  apt,
  dnf,
};

/** Detection order: the first whose `detect` holds on a host is its manager. */
export const DETECTION_ORDER: readonly PackageManager[] = ["apt", "dnf", "apk"];

/**
 * The sandbox fleet: real, isolated OpenSSH hosts on this machine (Linux namespaces, an
 * overlay root over the real "/", a file: apt repository of small test packages), for
 * the demo and the integration tests. Requires root on Linux.
 */
export { downFleet, readFleetState, upFleet, type DownResult, type UpOptions } from "./fleet.ts";
export { fleetStatus, hostStatus } from "./status.ts";
export { execInHost, healFault, injectFault } from "./faults.ts";
export { PROFILES, TEST_PACKAGES } from "./packages.ts";
export { FAULT_KINDS, type Criticality, type FaultKind, type FleetState, type HostStatus, type SandboxHost } from "./types.ts";
export { BACKUP_ALIAS, BACKUP_ROOT, setupBackupHost } from "./backup-host.ts";

import type { InstalledPackage, PackageManager, UpgradablePackage } from "../facts/types.ts";
import type { PackageGrammar } from "./untrusted.ts";

/**
 * The contract every package manager folder under src/drivers/ implements. A driver
 * never runs anything itself: it says which command to run (a `DriverCommand`, shell
 * text with every value quoted) and parses what came back. The caller runs commands
 * through the transport, so facts gathering can batch a driver's read-only commands
 * into one round trip, and apply can journal each command it runs.
 *
 * Host output is untrusted: every parser checks each name, version, architecture and
 * source against the driver's grammar (`validName`, `validVersion`, …; ./<manager>/grammar.ts)
 * and throws `UntrustedValueError` (./untrusted.ts) naming the section and line of the
 * first value that breaks it, and refuses control characters anywhere. Every command
 * builder checks its packages the same way, and passes them after `--` where the tool's
 * option parser knows it (apt-get, apt-mark, apk), so no package can be read as an option.
 */

/** A command for the host's POSIX shell, and how to judge its exit status. */
export interface DriverCommand {
  /** Shell text; values are shell-quoted; locale forced to C where output is parsed. */
  command: string;
  /** True when the command needs root (run through the host's `become`). */
  become: boolean;
  /** Exit statuses that mean success (`dnf check-update` exits 100 when updates exist). */
  okExitCodes: readonly number[];
}

/** How install and its simulation may change packages. */
export interface InstallOptions {
  /**
   * Let the package manager install a version older than the installed one (apt's
   * --allow-downgrades). Default false: only a plan that records a downgrade for the
   * package sets it (plannedDowngrades in src/plan/types.ts); otherwise a version that
   * sorts below the installed one is refused, not installed.
   */
  allowDowngrades?: boolean;
  /**
   * Seconds to wait for the package manager's lock held by another process before
   * giving up (apt's `-o DPkg::Lock::Timeout=N`); absent: the manager's default (apt
   * fails at once). Managers without such an option ignore it.
   */
  lockTimeoutSeconds?: number;
}

/** A package at one exact version, as install and simulation take it. */
export interface PackageRequest {
  name: string;
  version: string;
  /**
   * The architecture to change, for managers that list a package once per architecture
   * (apt: `libc6:i386=2.36-9`); absent or `all` means the package manager's default.
   */
  arch?: string;
}

/** What a simulated transaction would do to one package. */
export interface SimulatedChange {
  name: string;
  action: "install" | "upgrade" | "downgrade" | "reinstall" | "remove";
  /** Version before; absent for a new install. */
  from?: string;
  /** Version after; absent for a removal. */
  to?: string;
  /** Repository/origin the new version comes from, when the output names it. */
  source?: string;
}

/** The outcome of a simulated install: the changes, or why it cannot be done. */
export interface SimulationResult {
  ok: boolean;
  changes: SimulatedChange[];
  /** Error lines the package manager printed ("E: Version '9' for 'x' was not found"). */
  errors: string[];
}

/** Raw output of a command, as the parsers of simulations take it. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/**
 * Parsers throw `UntrustedValueError` (an `UnparsableError`) for a value their grammar
 * refuses; builders throw it for a request their grammar refuses.
 */
export interface PackageDriver extends PackageGrammar {
  readonly manager: PackageManager;
  /**
   * Orders two versions as this package manager does: negative, zero or positive as `a`
   * is older than, equal to or newer than `b` (dpkg's, rpm's rpmvercmp, apk's version.c).
   */
  compareVersions(a: string, b: string): number;
  /** Shell condition true when this manager is the host's (`command -v apt-get`). */
  readonly detect: string;
  /** Lists installed packages; read-only. */
  readonly listInstalled: DriverCommand;
  parseInstalled(stdout: string): InstalledPackage[];
  /** Refreshes the package lists from the repositories; needs root. */
  readonly refresh: DriverCommand;
  /** Lists packages with a newer candidate, from the current lists; read-only. */
  readonly listUpgradable: DriverCommand;
  /**
   * Parses `listUpgradable` output. `installed` supplies the from-version for
   * managers whose listing omits it (dnf check-update).
   */
  parseUpgradable(stdout: string, installed: readonly InstalledPackage[]): UpgradablePackage[];
  /** Lists held (pinned, version-locked) packages; read-only. */
  readonly listHeld: DriverCommand;
  /** Names of held packages, sorted. */
  parseHeld(stdout: string): string[];
  /** Simulates installing exact versions; changes nothing. */
  simulateInstall(packages: readonly PackageRequest[], options?: InstallOptions): DriverCommand;
  parseSimulation(output: CommandOutput): SimulationResult;
  /** Installs exact versions, non-interactively. */
  install(packages: readonly PackageRequest[], options?: InstallOptions): DriverCommand;
  /** Holds packages at the given versions so upgrades leave them alone. */
  hold(packages: readonly PackageRequest[]): DriverCommand;
  /**
   * Package scripts that failed in a transaction the manager still reports as a success
   * (rpm: a failing %post leaves the package installed, dnf exits 0), one line each,
   * from the install command's output. Absent where a failing script fails the
   * transaction and shows in the package's state instead (dpkg: half-configured).
   */
  scriptletFailures?(output: CommandOutput): string[];
}

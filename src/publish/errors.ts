import { StewardError } from "../core/errors.ts";

/**
 * Publishing could not be done: the forge refused (missing permission, bad
 * credentials), stayed unavailable after the bounded retries, or the branch holds
 * something steward did not put there. Its message names the operation and, for a
 * permission, the one to grant; it never holds a credential (built from GitHub's
 * status and message, passed through the run's redaction). Exit category
 * `environment`: the repository's configuration or the forge, not the fleet.
 */
export class PublishError extends StewardError {
  constructor(message: string, hint?: string) {
    super("environment", message, hint);
  }
}

/** Publishing input that cannot be used (a branch name git refuses, a path with `..`). */
export class PublishInputError extends StewardError {
  constructor(message: string, hint?: string) {
    super("invalid-input", message, hint);
  }
}

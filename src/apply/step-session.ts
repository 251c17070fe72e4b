/**
 * How the host runner tells a connection lost BETWEEN steps (the host went away; the
 * next step never reached it) from one lost WHILE a step ran (the step's effect is
 * unknown): the step's sessions note whether any of its commands may have reached the
 * host.
 */
import { errorDetail } from "../steps/execute-helpers.ts";
import { ConnectionLostError } from "../transport/errors.ts";
import type { Session } from "../transport/types.ts";
import type { StepContext } from "./types.ts";

/** Whether a command of the current step may have reached its host; kept across the step's reconnects. */
export interface StepReach {
  reached: boolean;
}

/** The session each wrapper stands for, so the runner goes on with the plain one after a step. */
const plain = new WeakMap<Session, Session>();

/**
 * `session`, noting in `reach` each command that may have reached the host: one that
 * ran, and one that failed in any way but a ConnectionLostError that is `unsent` (the
 * connection was known gone before the command was sent).
 */
export function noting(session: Session, reach: StepReach): Session {
  const inner = plainSession(session);
  const wrapped: Session = {
    target: inner.target,
    exec: (command, options) =>
      inner.exec(command, options).then(
        (result) => {
          reach.reached = true;
          return result;
        },
        (error: unknown) => {
          if (!(error instanceof ConnectionLostError && error.unsent)) reach.reached = true;
          throw error;
        },
      ),
    close: () => inner.close(),
  };
  // Only a check that become works: nothing that could change the host.
  if (inner.prepareBecome !== undefined) wrapped.prepareBecome = () => inner.prepareBecome!();
  plain.set(wrapped, inner);
  return wrapped;
}

/** The session a `noting` wrapper stands for (the session itself when it is none). */
export function plainSession(session: Session): Session {
  return plain.get(session) ?? session;
}

/**
 * Dials the step's host again (ctx.reconnect: the transport's connect, with its
 * retries). Resolves undefined when the host answered (ctx.session is the new
 * session), or the reason it did not.
 */
export async function reconnected(ctx: StepContext): Promise<string | undefined> {
  try {
    await ctx.reconnect();
    return undefined;
  } catch (error) {
    return errorDetail(error);
  }
}

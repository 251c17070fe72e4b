import { connect } from "node:net";

/** True once the address answers with an SSH banner. */
export function sshBanner(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once("data", (data) => done(data.toString("latin1").startsWith("SSH-")));
    socket.once("error", () => done(false));
  });
}

/** True when something accepts TCP connections at the address. */
export function portInUse(address: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: address, port });
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

#!/usr/bin/env node
// Entry point: load the TypeScript sources through tsx so the repository runs as checked out.
import { register } from "tsx/esm/api";

// `steward validate | head` or `steward apply … | head` closes the pipe early. That is no
// reason to stop: an apply in flight must finish its hosts and write its results, report
// and audit entry, and the exit code must be the command's own. Output to a closed pipe
// is dropped (later writes to the destroyed stream fail the same way and are dropped too).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") return;
    throw error;
  });
}
register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// Entry point: load the TypeScript sources through tsx so the repository runs as checked out.
import { register } from "tsx/esm/api";

// `steward validate | head` closes the pipe early; that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}
register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));

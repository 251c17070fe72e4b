#!/usr/bin/env node
// Entry point: load the TypeScript sources through tsx so the repository runs as checked out.
import { register } from "tsx/esm/api";
register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// The inference server as a command: configured by environment variables (MTAILOR_MODEL, PORT, …; see the README).
import { runServer } from '../dist/index.js';

runServer().catch((err) => {
  console.error('mtailor-server: fatal:', err instanceof Error ? err.message : err);
  process.exit(1);
});

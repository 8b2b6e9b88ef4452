#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step between a
// `git pull` and `npx neurocards …`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');

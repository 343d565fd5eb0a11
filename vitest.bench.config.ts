import { defineConfig } from 'vitest/config';

/** `npm run bench` runs the CPU micro-benchmark in plain Node through this config (see bench/cpu.bench-run.ts). */
export default defineConfig({ test: { include: ['bench/cpu.bench-run.ts'], environment: 'node' } });

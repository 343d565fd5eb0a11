/**
 * Sender presets (`"preset": "<name>"` in an endpoint configuration): verification, handshake,
 * idempotency key, delivery mode, customer lookup, and a normalised view of the payload, so that a
 * field mapping is short. Anything the endpoint states overrides the preset (objects one level deep).
 */
import { automation } from './automation';
import { googleAdsLeadForm } from './google-ads-lead-form';
import { htmlForm } from './html-form';
import { jiandaoyun } from './jiandaoyun';
import { jinshuju } from './jinshuju';
import { feiyu } from './feiyu';
import { oceanEngine } from './ocean-engine';
import { tally } from './tally';
import type { Preset } from './types';
import { typeform } from './typeform';
import { webflow } from './webflow';
import { xiaohongshu } from './xiaohongshu';
import { zapier } from './zapier';

export type { Preset } from './types';

export const PRESETS: Record<string, Preset> = Object.fromEntries(
  [
    googleAdsLeadForm,
    typeform,
    tally,
    webflow,
    jinshuju,
    jiandaoyun,
    xiaohongshu,
    oceanEngine,
    feiyu,
    zapier,
    automation,
    htmlForm,
  ].map((p) => [p.name, p]),
);
export const PRESET_NAMES = Object.keys(PRESETS) as [string, ...string[]];

const MERGED = new Set(['verify', 'handshake', 'delivery', 'update', 'response']);

/** The configuration with its preset's keys filled in under it (for z.preprocess). */
export function applyPreset(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const config = input as Record<string, unknown>;
  const preset = typeof config.preset === 'string' ? PRESETS[config.preset] : undefined;
  if (!preset) return input;
  const out: Record<string, unknown> = { ...preset.config };
  for (const [key, value] of Object.entries(config)) {
    const base = out[key];
    const isObj = (v: unknown): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    // objects merge one level deep, unless the endpoint names another `type` (then its own replaces the preset's)
    const merge = MERGED.has(key) && isObj(base) && isObj(value) && (!('type' in value) || value.type === base.type);
    out[key] = merge ? { ...(base as object), ...(value as object) } : value;
  }
  return out;
}

/** The payload as the mapping sees it under a preset. */
export function viewOf(presetName: string | undefined, body: unknown): unknown {
  const preset = presetName ? PRESETS[presetName] : undefined;
  return preset?.view ? preset.view(body) : body;
}

/** What `GET /admin/presets` shows. */
export function describePresets() {
  return Object.values(PRESETS).map((p) => ({
    name: p.name,
    title: p.title,
    source: p.source,
    supplies: p.config,
    normalisesPayload: Boolean(p.view),
    recipe: p.recipe,
  }));
}

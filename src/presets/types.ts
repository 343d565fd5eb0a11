import { isRecord } from '../shared/json';

/** A sender preset: everything an endpoint for that sender needs except the CRM ids and the field mapping. */
export type Preset = {
  name: string;
  title: string;
  /** Where the format comes from: the sender's own documentation, or third-party descriptions only. */
  source: 'sender docs' | 'third-party descriptions (unverified)';
  /** Configuration the preset supplies; the endpoint's own keys override it (objects one level deep). */
  config: Record<string, unknown>;
  /** The payload as the field mapping sees it (`$` in expressions); the raw body is kept as received. */
  view?: (body: unknown) => unknown;
  /**
   * Where to paste the URL in the sender's UI (English, as the admin API lists it; Chinese:
   * src/console/i18n/recipes.ts).
   */
  recipe: string;
};

/** A plain JSON object (the presets' views read objects only). */
export const isObject = isRecord;

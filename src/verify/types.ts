import type * as z from '../shared/zod';

/** What a scheme may look at: the raw request, before any parsing. */
export type VerifyInput = {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array<ArrayBuffer>;
  /** Milliseconds since the epoch; injected so tests can fix the clock. */
  now: number;
};

/**
 * Why a request was refused. The sender only ever sees a generic 401 `invalid_signature`;
 * the precise reason goes to the delivery row.
 */
export type VerifyFailureReason =
  | 'missing_credential'
  | 'malformed_credential'
  | 'credential_mismatch'
  | 'malformed_signature'
  | 'signature_mismatch'
  | 'stale_timestamp'
  | 'malformed_timestamp';

/** `note`: which of several accepted forms matched, for the row (a sender whose format is not settled). */
export type SchemeOutcome = { ok: true; note?: string } | { ok: false; reason: VerifyFailureReason; detail: string };

/**
 * One verification scheme: its config schema and its check. Adding a scheme is one file
 * exporting one of these (made with `defineScheme`), listed in `schemes/index.ts`.
 */
export interface Scheme<S extends z.ZodMiniType<{ type: string }>> {
  schema: S;
  /** Checks the request against every candidate secret (several during rotation). */
  verify(config: z.infer<S>, input: VerifyInput, secrets: string[]): Promise<SchemeOutcome>;
  /** Header names (lower case) that carry credentials: never stored. */
  credentialHeaders(config: z.infer<S>): string[];
  /** Query parameters that carry credentials: never stored. */
  credentialQuery(config: z.infer<S>): string[];
  /**
   * What the sender must be told: query parameters to add to the URL (name -> placeholder) and one sentence for the
   * rest.
   */
  howToSend(config: z.infer<S>): SendInstructions;
}

/** How to set up the sender: `query` goes into the pasted URL (placeholders name secrets, never their values). */
export type SendInstructions = { query: Record<string, string>; note: string | null };

/** Ties a scheme's functions to its config schema's type. */
export function defineScheme<S extends z.ZodMiniType<{ type: string }>>(scheme: Scheme<S>): Scheme<S> {
  return scheme;
}

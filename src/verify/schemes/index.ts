import * as z from 'zod';
import { hmac } from './hmac';
import { none } from './none';
import { token } from './token';

/** Every verification scheme, by `verify.type`. A new scheme is one file plus one entry in each list here. */
export const schemes = { none, token, hmac } as const;

/** `verify` in an endpoint configuration: one of the schemes, picked by `type`. */
export const VerifyConfig = z.discriminatedUnion('type', [none.schema, token.schema, hmac.schema]);
export type VerifyConfig = z.infer<typeof VerifyConfig>;

import * as z from '../../shared/zod';
import { preprocess } from '../../shared/zod';
import { basic } from './basic';
import { bodyKey } from './body-key';
import { hmac } from './hmac';
import { none } from './none';
import { standardWebhooks } from './standard-webhooks';
import { token } from './token';
import { expandPreset } from '../presets';

/** Every verification scheme, by `verify.type`. A new scheme is one file plus one entry in each list here. */
export const schemes = {
  none,
  token,
  basic,
  hmac,
  'standard-webhooks': standardWebhooks,
  'body-key': bodyKey,
} as const;

const union = z.discriminatedUnion('type', [
  none.schema,
  token.schema,
  basic.schema,
  hmac.schema,
  standardWebhooks.schema,
  bodyKey.schema,
]);

/**
 * `verify` in an endpoint configuration: one of the schemes, picked by `type` (an `hmac` may name a sender `preset`).
 */
export const VerifyConfig = preprocess(expandPreset, union);
export type VerifyConfig = z.infer<typeof union>;

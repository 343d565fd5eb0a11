import * as z from '../../shared/zod';
import { defineScheme } from '../types';

const schema = z.strictObject({ type: z.literal('none') });

/** No verification: anyone who knows the URL can update any customer. Allowed, with a warning at PUT time. */
export const none = defineScheme({
  schema,
  async verify() {
    return { ok: true };
  },
  credentialHeaders: () => [],
  credentialQuery: () => [],
  howToSend: () => ({ query: {}, note: null }),
});

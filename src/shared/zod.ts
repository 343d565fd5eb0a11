/**
 * The one zod the Worker uses: zod/mini (classic zod carries its JSON Schema generator into the bundle, about
 * 17 KiB gzipped), with English messages configured here, since zod/mini has none of its own ("Invalid input"
 * would be all a sender or an operator learns). Import it as `import * as z from '…/shared/zod'`, never 'zod/mini'
 * directly.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());

export * from 'zod/mini';

/** zod's `preprocess` for zod/mini (which has none): `fn` sees the raw input, `schema` checks what it returns. */
export function preprocess<S extends z.core.$ZodType>(
  fn: (value: unknown) => unknown,
  schema: S,
): z.ZodMiniPipe<z.ZodMiniTransform<unknown, unknown>, S> {
  return z.pipe(z.transform(fn), schema as never) as never;
}

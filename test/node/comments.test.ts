/** The comment check of `npm run lint`: a comment naming a path that does not exist is found; src/ as it is holds. */
import { expect, it } from 'vitest';
import { staleComments, staleIn } from '../../scripts/check-comments.ts';

it('holds for the repository as it is', () => {
  expect(staleComments()).toEqual([]);
});

it('finds a comment naming a moved file, relative or from the root; strings and the shared folder are left alone', () => {
  const text = [
    '// the handler lives in src/handlers/webhook.ts',
    ['/', '** see ./gone.ts and ../shared/crm-api.md *', '/'].join(''),
    "const s = 'src/not-a-comment.ts';",
    '// ./here.ts exists',
  ].join('\n');
  const exists = (p: string) => p === 'src/pipeline/here.ts';
  expect(staleIn('src/pipeline/a.ts', text, exists)).toEqual([
    'src/pipeline/a.ts: a comment names src/handlers/webhook.ts, which does not exist',
    'src/pipeline/a.ts: a comment names ./gone.ts, which does not exist',
  ]);
});

/**
 * Customer-key imports through the console (issue "No lead lost to a sender's mistake", item 11): a 10 MiB CSV file
 * goes through the browser's multipart form, and each refused row is told in the marketer's language, a duplicate on
 * the row that lost.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUES } from '../src/console/i18n';
import { call, consoleSignIn, CUSTOMER_ID, snowflake } from './helpers';

const BASE = 'https://adapter.test';
const ZH = { 'accept-language': 'zh-CN,zh;q=0.9', accept: 'text/html' };

async function upload(moduleId: string, fields: { file?: File; csv?: string }) {
  const s = await consoleSignIn();
  const form = new FormData();
  form.set('_csrf', s.csrf);
  form.set('moduleId', moduleId);
  if (fields.file) form.set('file', fields.file);
  if (fields.csv) form.set('csv', fields.csv);
  return call(
    new Request(`${BASE}/console/customer-keys/import`, {
      method: 'POST',
      headers: { cookie: s.cookie, ...ZH },
      body: form,
    }),
  );
}

describe('the console’s import', () => {
  it('takes a 10 MiB CSV file through the multipart form', { timeout: 120_000 }, async () => {
    const moduleId = snowflake();
    const lines = ['customer_id,key,value'];
    let bytes = lines[0]!.length + 1;
    for (let i = 0; bytes < 10 * 1024 * 1024 - 200; i++) {
      const line = `${CUSTOMER_ID},clue_id,${String(i).padStart(60, 'c')}`;
      lines.push(line);
      bytes += line.length + 1;
    }
    const file = new File([`${lines.join('\n')}\n`], 'keys.csv', { type: 'text/csv' });
    expect(file.size).toBeGreaterThan(10 * 1024 * 1024 - 300);
    const res = await upload(moduleId, { file });
    expect(res.status).toBe(200);
    const text = (await res.text()).replace(/<[^>]+>/g, ' ');
    expect(text).toContain(`收到 ${lines.length - 1} 行，新增 ${lines.length - 1}`);
  });

  it('tells each refused row in Chinese: a value too long, and a duplicate on the row that lost', async () => {
    const moduleId = snowflake();
    const csv = [
      'customer_id,key,value',
      `${CUSTOMER_ID},clue_id,${'q'.repeat(300)}`,
      `${CUSTOMER_ID},clue_id,dup`,
      `700000000000000001,clue_id,dup`,
    ].join('\n');
    const html = await (await upload(moduleId, { csv })).text();
    const k = CATALOGUES.zh.keys;
    expect(html).toContain(k.row(1, k.refusals.value_too_long(0)));
    expect(html).toContain(k.row(2, k.refusals.replaced(3)));
    expect(html).not.toContain('later row wins');
  });
});

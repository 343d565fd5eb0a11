import { describe, expect, it } from 'vitest';
import { sentences } from '../../src/shared/text';

describe('sentences', () => {
  it('joins English sentences with one space', () => {
    expect(sentences('The CRM refused the call.', 'Fix the mapping,', 'then replay.')).toBe(
      'The CRM refused the call. Fix the mapping, then replay.',
    );
  });

  it('joins Chinese sentences with nothing, where either side is Chinese or full-width', () => {
    expect(sentences('密钥不对。', '请在本页重新设置。')).toBe('密钥不对。请在本页重新设置。');
    expect(sentences('用 entry.field_1 对应字段，', 'Zapier 会丢掉空值')).toBe(
      '用 entry.field_1 对应字段，Zapier 会丢掉空值',
    );
    expect(sentences('粘贴 verify_webhook', '校验请求')).toBe('粘贴 verify_webhook校验请求');
  });

  it('keeps a lone part and drops nothing', () => {
    expect(sentences('one')).toBe('one');
    expect(sentences()).toBe('');
    expect(sentences('a.', '', 'b.')).toBe('a. b.');
  });
});

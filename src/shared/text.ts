/** Where a sentence may meet the next without a space: Chinese (CJK) text and full-width punctuation. */
const NO_SPACE = /[\u2E80-\u9FFF\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\u3000-\u303F]/u;

/**
 * A message or a recipe written one sentence (or clause) per line: the parts joined by a space in English, by
 * nothing where Chinese text or full-width punctuation meets. It lets long texts read well in the source, whatever
 * their language, without a change to the text itself.
 * @example sentences('The CRM refused the call.', 'Fix the mapping, then replay.') // 'The CRM … call. Fix …'
 * @example sentences('密钥不对。', '请在本页重新设置。') // '密钥不对。请在本页重新设置。'
 */
export function sentences(...parts: string[]): string {
  let out = '';
  for (const part of parts) {
    if (!part) continue;
    if (!out) out = part;
    else out += NO_SPACE.test(out.at(-1)!) || NO_SPACE.test(part[0] ?? '') ? part : ` ${part}`;
  }
  return out;
}

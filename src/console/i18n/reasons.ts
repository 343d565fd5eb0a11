/**
 * Every reason a delivery row can carry, from the pipeline's own types where it has them. The catalogue
 * (./zh.ts, ./en.ts) is a `Record<Reason, …>`, so a reason without its sentences fails the build; a test scans
 * src/ for reason literals the types do not reach (test/console-i18n.test.ts).
 */
import type { ErrorCode } from '../../http/errors';
import type { BodyFailure } from '../../receive/body';
import type { VerifyFailureReason } from '../../verify';

export type Reason =
  | ErrorCode
  | VerifyFailureReason
  | BodyFailure['reason']
  | 'turnstile_missing'
  | 'turnstile_rejected'
  | 'turnstile_misconfigured'
  | 'secret_missing'
  | 'skip_when'
  | 'honeypot'
  | 'duplicate'
  | 'unchanged'
  | 'endpoint_disabled'
  | 'endpoint_missing'
  | 'payload_purged'
  | 'customer_conflict';

/**
 * Every reason a delivery row can carry: the union lives with the row's life (src/deliveries/lifecycle.ts). The
 * catalogue (./zh.ts, ./en.ts) is a `Record<Reason, …>`, so a reason without its sentences fails the build; a test
 * scans src/ for reason literals the types do not reach (test/console-i18n.test.ts).
 */
export type { DeliveryReason as Reason } from '../../deliveries/lifecycle';

import type { listAttempts } from '../../deliveries/attempts';

type Attempt = Awaited<ReturnType<typeof listAttempts>>[number];
import { DELIVERY_STATUSES, type Delivery, type DeliverySummary } from '../../deliveries/store';
import type { PreviewResult } from '../../pipeline/preview';
import type { Lead } from '../leads';
import { Csrf, Explain, Json, Layout, Notice, Status, Time } from './layout';
import { consolePath, consolePathWith } from '../paths';
import { reasonText, useCan, useT } from '../i18n';

export const RANGES = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
  all: 0,
} as const;
export type Range = keyof typeof RANGES;
export type ListFilter = { endpoint?: string; status?: string; range: Range; q?: string };

/** The deliveries list with this filter (and a cursor, for the next page). */
const listPath = (f: ListFilter, extra: Record<string, string> = {}) =>
  consolePathWith('deliveries', { ...f, ...extra });

function FilterForm(p: { filter: ListFilter; endpoints: string[] }) {
  const t = useT();
  const f = p.filter;
  return (
    <form method="get" action={consolePath('deliveries')} class="filters" role="search">
      <label>
        {t.deliveries.endpoint}
        <select name="endpoint">
          <option value="">{t.deliveries.any}</option>
          {p.endpoints.map((id) => (
            <option value={id} selected={f.endpoint === id}>
              {id}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t.deliveries.status}
        <select name="status">
          <option value="">{t.deliveries.any}</option>
          <option value="attention" selected={f.status === 'attention'}>
            {t.deliveries.attention}
          </option>
          {DELIVERY_STATUSES.map((s) => (
            <option value={s} selected={f.status === s}>
              {`${t.status[s][0]} (${s})`}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t.deliveries.received}
        <select name="range">
          {(Object.keys(RANGES) as Range[]).map((r) => (
            <option value={r} selected={f.range === r}>
              {r === 'all' ? t.deliveries.anyTime : t.deliveries.last(r)}
            </option>
          ))}
        </select>
      </label>
      <label class="grow">
        {t.deliveries.search}{' '}
        <input type="search" name="q" value={f.q ?? ''} placeholder={t.deliveries.searchHint} maxlength={100} />
      </label>
      <button type="submit">{t.deliveries.filter}</button>
    </form>
  );
}

export function DeliveriesPage(p: {
  filter: ListFilter;
  endpoints: string[];
  rows: DeliverySummary[];
  leads: Map<string, Lead>;
  nextCursor: string | null;
  csrf: string;
  issues?: string[];
}) {
  const t = useT();
  const f = p.filter;
  return (
    <Layout title={t.deliveries.title} nav="deliveries" csrf={p.csrf}>
      <FilterForm filter={f} endpoints={p.endpoints} />
      {p.issues?.map((m) => (
        <Notice kind="error">
          <p>{m}</p>
        </Notice>
      ))}
      {f.status && f.status !== 'attention' && useCan()('operator') && (
        <form method="post" action={consolePath('bulkReplay')} class="bulk">
          <Csrf token={p.csrf} />
          <input type="hidden" name="status" value={f.status} />
          <input type="hidden" name="endpoint" value={f.endpoint ?? ''} />
          <input type="hidden" name="range" value={f.range} />
          <button type="submit">
            {t.deliveries.replayEvery(f.status, f.endpoint, f.range === 'all' ? null : f.range)}
          </button>
          <span class="muted"> {`${t.deliveries.confirmFirst}${f.q ? ` ${t.deliveries.searchNotApplied}` : ''}`}</span>
        </form>
      )}
      {p.rows.length === 0 ? (
        <p class="muted">{t.deliveries.noMatch}</p>
      ) : (
        <ul class="deliveries">
          {p.rows.map((d) => (
            <li>
              <a href={consolePath('delivery', { id: d.id })} class="row">
                <span class="top">
                  <Status status={d.status} /> <strong>{d.endpointId}</strong> <Time ms={d.receivedAt} />
                </span>
                <LeadLine lead={p.leads.get(d.id)} customerId={d.customerId} />
                <Explain status={d.status} reason={d.reason} />
                {/* the CRM's own words; the pipeline's technical detail (English) only on an English page and on
                    the delivery's own */}
                {(d.crm.message ?? (t.lang === 'en' ? d.message : null)) && (
                  <span class="muted">{d.crm.message ?? d.message}</span>
                )}
              </a>
            </li>
          ))}
        </ul>
      )}
      {p.nextCursor && (
        <p>
          <a href={listPath(f, { cursor: p.nextCursor })} rel="next">
            {t.deliveries.older}
          </a>
        </p>
      )}
    </Layout>
  );
}

/** Who the lead is (name and phone as stored, masked as the endpoint's redact says) and the customer id. */
function LeadLine(p: { lead: Lead | undefined; customerId: string | null }) {
  const t = useT();
  const who = [p.lead?.name, p.lead?.phone].filter(Boolean).join(' · ');
  return (
    <span class="lead">
      {who && <strong>{who}</strong>} <span class="muted">{t.deliveries.customer(p.customerId ?? t.none)}</span>
    </span>
  );
}

function Timeline(p: { attempts: Attempt[] }) {
  const t = useT();
  if (p.attempts.length === 0) return <p class="muted">{t.deliveries.noAttempts}</p>;
  return (
    <ol class="timeline">
      {p.attempts.map((a) => (
        <li class={`o-${a.outcome}`}>
          <strong>{`#${a.n} ${a.outcome}`}</strong> <Time ms={a.startedAt} />
          <div>
            {[
              a.httpStatus !== null ? `HTTP ${a.httpStatus}` : null,
              a.crmCode !== null ? t.deliveries.crmCode(a.crmCode) : null,
              a.crmMessage,
              a.error ? (reasonText(t, a.error) ?? a.error) : null,
              a.durationMs !== null ? `${a.durationMs} ms` : null,
            ]
              .filter(Boolean)
              .join(' · ')}
          </div>
          {a.nextAttemptAt !== null && (
            <div class="muted">
              {t.deliveries.nextAttempt} <Time ms={a.nextAttemptAt} />
            </div>
          )}
        </li>
      ))}
    </ol>
  );
}

/** The notices a redirect back to a delivery's page may ask for (`?done=`). */
export const DONE = ['replayed', 'accepted'] as const;

/** The facts of a delivery as a definition list. */
function DeliveryFacts(p: { d: Delivery; lead?: Lead }) {
  const t = useT();
  const f = t.deliveries.facts;
  const d = p.d;
  const facts: [string, unknown][] = [
    [f.endpoint, <a href={consolePath('endpoint', { id: d.endpointId })}>{d.endpointId}</a>],
    [f.received, <Time ms={d.receivedAt} />],
    [f.finished, <Time ms={d.finishedAt} />],
    [f.lead, [p.lead?.name, p.lead?.phone].filter(Boolean).join(' · ') || t.none],
    [f.customerId, d.customerId ?? t.none],
    [f.reason, d.reason ? <Explain status={d.status} reason={d.reason} /> : t.none],
    [f.message, d.message ?? t.none],
    [
      f.crmAnswer,
      d.crm.httpStatus === null
        ? t.none
        : f.crmAnswerText(d.crm.httpStatus, String(d.crm.code ?? t.none), d.crm.message ?? ''),
    ],
    [f.mode, f.modeText(d.mode, d.attempts, d.replays)],
    [f.idempotencyKey, d.idempotencyKey ?? t.none],
  ];
  if (d.acceptedBy)
    facts.push([
      f.accepted,
      <>
        {f.acceptedText(d.acceptedBy)} <Time ms={d.acceptedAt} />
      </>,
    ]);
  if (d.duplicateOf)
    facts.push([f.duplicateOf, <a href={consolePath('delivery', { id: d.duplicateOf })}>{d.duplicateOf}</a>]);
  if (d.nextAttemptAt) facts.push([f.nextAttempt, <Time ms={d.nextAttemptAt} />]);
  return (
    <dl class="facts">
      {facts.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v as string}</dd>
        </>
      ))}
    </dl>
  );
}

/** Replay and Preview replay, or why the delivery cannot be replayed. */
function ReplayActions(p: { d: Delivery; csrf: string }) {
  const t = useT();
  const d = p.d;
  return (
    <div class="actions">
      {useCan()('operator') && (
        <form method="post" action={consolePath('deliveryReplay', { id: d.id })} class="inline">
          <Csrf token={p.csrf} />
          <button type="submit" disabled={!d.replayable}>
            {t.deliveries.replay}
          </button>
        </form>
      )}
      {d.replayable && (
        <a class="button secondary" href={`${consolePath('deliveryPreview', { id: d.id })}#preview`}>
          {t.deliveries.previewReplay}
        </a>
      )}
      {!d.replayable && <span class="muted">{t.deliveries.notReplayable}</span>}
    </div>
  );
}

/** A webhook refused for its credential, kept: what to fix at the sender, and Accept (after a confirmation). */
function ReviewActions(p: { d: Delivery; csrf: string }) {
  const t = useT();
  const r = t.deliveries.review;
  return (
    <Notice kind="warn">
      <p>
        <strong>{r.title}</strong>
      </p>
      <p>{r.fix}</p>
      {useCan()('operator') && (
        <form method="post" action={consolePath('deliveryAccept', { id: p.d.id })} class="review">
          <Csrf token={p.csrf} />
          <label>
            <input type="checkbox" name="confirm" value="yes" required /> {r.confirm}
          </label>
          <p class="muted">{r.warning}</p>
          <button type="submit">{r.accept}</button>
        </form>
      )}
    </Notice>
  );
}

/** A create whose outcome is unknown: the two answers of the person who checked the CRM. */
function CreateCheck(p: { d: Delivery; csrf: string }) {
  const t = useT();
  const c = t.deliveries.create;
  return (
    <Notice kind="warn">
      <p>
        <strong>{c.title}</strong>
      </p>
      <p>{c.how}</p>
      {useCan()('operator') && (
        <>
          <form method="post" action={consolePath('deliveryCreated', { id: p.d.id })} class="inline">
            <Csrf token={p.csrf} />
            <label for="created-id">{c.idLabel}</label>{' '}
            <input id="created-id" name="customerId" inputmode="numeric" required />{' '}
            <button type="submit">{c.wasCreated}</button>
          </form>
          <form method="post" action={consolePath('deliveryCreate', { id: p.d.id })} class="inline">
            <Csrf token={p.csrf} />
            <button type="submit" class="secondary">
              {c.wasNot}
            </button>
          </form>
        </>
      )}
    </Notice>
  );
}

/** The reasons whose fix is on the endpoint's page, and where on it: the secret field, or the field rules. */
const FIX_ON_ENDPOINT: Partial<Record<string, 'secret' | 'rules'>> = {
  secret_missing: 'secret',
  turnstile_misconfigured: 'secret',
  mapping_failed: 'rules',
  endpoint_misconfigured: 'rules',
  crm_rejected: 'rules',
};

/** The failure's fix, as a link to the place where it is made (the endpoint's secret field or its field rules). */
function FixLink(p: { d: Delivery }) {
  const t = useT();
  const where = p.d.reason ? FIX_ON_ENDPOINT[p.d.reason] : undefined;
  if (!where || p.d.status === 'delivered') return null;
  const href = `${consolePath('endpoint', { id: p.d.endpointId })}#${where === 'secret' ? 'secret-value' : 'editor'}`;
  return (
    <p class="fix">
      <a class="button secondary" href={href}>
        {where === 'secret' ? t.deliveries.fix.secret : t.deliveries.fix.rules}
      </a>{' '}
      <span class="muted">{t.deliveries.fix.thenReplay}</span>
    </p>
  );
}

/** A lead nobody in the CRM matches: what is true, and the ways on. */
function UnmatchedHelp(p: { d: Delivery }) {
  const t = useT();
  const u = t.deliveries.unmatched;
  return (
    <Notice kind="warn">
      <p>
        <strong>{u.title}</strong>
      </p>
      <ul>
        <li>
          {u.importKey} <a href={consolePath('customerKeys')}>{u.importLink}</a>
        </li>
        <li>
          {u.turnOn} <a href={`${consolePath('endpoint', { id: p.d.endpointId })}#on-unmatched`}>{u.turnOnLink}</a>
        </li>
        <li>{u.replay}</li>
      </ul>
    </Notice>
  );
}

/** What arrived (masked as the endpoint says) and what went to the CRM and came back. */
function RequestAndCrm(p: { d: Delivery }) {
  const t = useT();
  const d = p.d;
  return (
    <>
      <section>
        <h2>{t.deliveries.arrived}</h2>
        <p class="muted">{t.deliveries.arrivedMeta(d.request.method, d.request.contentType, d.request.bytes ?? 0)}</p>
        <Json value={d.request.body ?? t.deliveries.bodyRemoved} label={t.deliveries.requestBody} />
        <details>
          <summary>{t.deliveries.headersQuery}</summary>
          <Json value={{ headers: d.request.headers, query: d.request.query }} />
        </details>
      </section>
      <section>
        <h2>{t.deliveries.crmRequest}</h2>
        {d.crm.request ? (
          <Json value={d.crm.request} label={t.deliveries.crmRequest} />
        ) : (
          <p class="muted">{t.deliveries.nothingSent}</p>
        )}
        {d.crm.response !== null && (
          <>
            <h3>{t.deliveries.crmResponse}</h3>
            <Json value={d.crm.response} label={t.deliveries.crmResponse} />
          </>
        )}
      </section>
    </>
  );
}

export function DeliveryPage(p: {
  d: Delivery;
  lead?: Lead;
  attempts: Attempt[];
  csrf: string;
  done?: string;
  refusal?: string;
  preview?: PreviewResult;
}) {
  const t = useT();
  const d = p.d;
  return (
    <Layout title={t.deliveries.title1(d.id)} nav="deliveries" csrf={p.csrf}>
      {p.done === 'replayed' && (
        <Notice kind="ok">
          <p>{t.deliveries.replayed}</p>
        </Notice>
      )}
      {p.done === 'accepted' && (
        <Notice kind="ok">
          <p>{t.deliveries.accepted}</p>
        </Notice>
      )}
      {p.refusal && (
        <Notice kind="error">
          <p>{p.refusal}</p>
        </Notice>
      )}
      <p class="headline">
        <Status status={d.status} /> <span>{t.status[d.status][1]}</span>
      </p>
      <DeliveryFacts d={d} lead={p.lead} />
      {d.warnings.length > 0 && (
        <Notice kind="warn">
          <ul>
            {d.warnings.map((w) => (
              <li>{w}</li>
            ))}
          </ul>
        </Notice>
      )}
      {d.status === 'unmatched' && <UnmatchedHelp d={d} />}
      <FixLink d={d} />
      {d.createUnconfirmed && <CreateCheck d={d} csrf={p.csrf} />}
      {d.reviewable ? <ReviewActions d={d} csrf={p.csrf} /> : <ReplayActions d={d} csrf={p.csrf} />}
      {p.preview && (
        <section id="preview" tabindex={-1}>
          <h2>{t.deliveries.wouldSend}</h2>
          <PreviewResultView result={p.preview} />
        </section>
      )}
      <section>
        <h2>{t.deliveries.attempts}</h2>
        <Timeline attempts={p.attempts} />
      </section>
      <RequestAndCrm d={d} />
    </Layout>
  );
}

/** The status colour of a preview's outcome: it would reach the CRM, it needs nothing, or it would fail. */
function previewGroup(outcome: PreviewResult['outcome']): 'ok' | 'other' | 'failed' {
  if (outcome === 'would_deliver' || outcome === 'would_create') return 'ok';
  return outcome === 'would_skip' || outcome === 'nothing_to_send' ? 'other' : 'failed';
}

/** A preview's outcome, warnings and CRM body (shared by the delivery and the endpoint pages). */
export function PreviewResultView(p: { result: PreviewResult }) {
  const t = useT();
  const r = p.result;
  return (
    <div class="preview-result">
      <p>
        <span class={`status g-${previewGroup(r.outcome)}`}>{t.preview.outcome[r.outcome]}</span>{' '}
        {r.reason && (
          <span class="explain">
            <code>{r.reason}</code> {reasonText(t, r.reason) ?? ''}
          </span>
        )}
      </p>
      {r.message && <p class="muted">{r.message}</p>}
      {r.warnings.length > 0 && (
        <Notice kind="warn">
          <ul>
            {r.warnings.map((w) => (
              <li>{w}</li>
            ))}
          </ul>
        </Notice>
      )}
      {r.crm && (
        <>
          <h3>{t.preview.crmBody}</h3>
          <Json value={r.crm.body} label={t.preview.crmBody} />
        </>
      )}
      {r.view !== undefined && (
        <details>
          <summary>{t.preview.view}</summary>
          <Json value={r.view} />
        </details>
      )}
    </div>
  );
}

export function BulkConfirmPage(p: { csrf: string; filter: ListFilter; matched: number; limit: number }) {
  const t = useT();
  const f = p.filter;
  const back = listPath(f);
  return (
    <Layout title={t.bulk.title} nav="deliveries" csrf={p.csrf}>
      {p.matched === 0 ? (
        <Notice kind="warn">
          <p>{t.bulk.none}</p>
        </Notice>
      ) : (
        <form method="post" action={consolePath('bulkReplay')}>
          <Csrf token={p.csrf} />
          <input type="hidden" name="status" value={f.status} />
          <input type="hidden" name="endpoint" value={f.endpoint ?? ''} />
          <input type="hidden" name="range" value={f.range} />
          <input type="hidden" name="confirm" value={String(p.matched)} />
          <p class="confirm">
            {t.bulk.confirm(p.matched, f.status ?? '', f.endpoint, f.range === 'all' ? null : f.range)}
          </p>
          <p class="muted">{t.bulk.how(p.limit)}</p>
          <button type="submit">{t.bulk.replayN(p.matched)}</button> <a href={back}>{t.bulk.cancel}</a>
        </form>
      )}
    </Layout>
  );
}

export function BulkDonePage(p: { csrf: string; filter: ListFilter; queued: number; matched: number }) {
  const t = useT();
  return (
    <Layout title={t.bulk.title} nav="deliveries" csrf={p.csrf}>
      <Notice kind="ok">
        <p>{t.bulk.done(p.queued, p.matched)}</p>
      </Notice>
      <p>
        <a href={listPath({ ...p.filter, status: 'queued' })}>{t.bulk.seeThem}</a> ·{' '}
        <a href={listPath(p.filter)}>{t.bulk.backToList}</a>
      </p>
    </Layout>
  );
}

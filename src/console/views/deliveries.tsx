import type { listAttempts } from '../../deliveries/attempts';

type Attempt = Awaited<ReturnType<typeof listAttempts>>[number];
import { DELIVERY_STATUSES, type Delivery, type DeliverySummary } from '../../deliveries/store';
import type { PreviewResult } from '../../pipeline/preview';
import { Csrf, Json, Layout, Notice, Status, Time } from './layout';
import { consolePath, consolePathWith } from '../paths';

export const RANGES = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, all: 0 } as const;
export type Range = keyof typeof RANGES;
export type ListFilter = { endpoint?: string; status?: string; range: Range; q?: string };

/** The deliveries list with this filter (and a cursor, for the next page). */
const listPath = (f: ListFilter, extra: Record<string, string> = {}) => consolePathWith('deliveries', { ...f, ...extra });

function FilterForm(p: { filter: ListFilter; endpoints: string[] }) {
  const f = p.filter;
  return (
    <form method="get" action={consolePath('deliveries')} class="filters" role="search">
      <label>
        Endpoint
        <select name="endpoint">
          <option value="">any</option>
          {p.endpoints.map((id) => (
            <option value={id} selected={f.endpoint === id}>
              {id}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select name="status">
          <option value="">any</option>
          {DELIVERY_STATUSES.map((s) => (
            <option value={s} selected={f.status === s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Received
        <select name="range">
          {(Object.keys(RANGES) as Range[]).map((r) => (
            <option value={r} selected={f.range === r}>
              {r === 'all' ? 'any time' : `last ${r}`}
            </option>
          ))}
        </select>
      </label>
      <label class="grow">
        Search <input type="search" name="q" value={f.q ?? ''} placeholder="customer id, phone, name, delivery id" maxlength={100} />
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}

export function DeliveriesPage(p: { filter: ListFilter; endpoints: string[]; rows: DeliverySummary[]; nextCursor: string | null; csrf: string; issues?: string[] }) {
  const f = p.filter;
  return (
    <Layout title="Deliveries" nav="deliveries" csrf={p.csrf}>
      <FilterForm filter={f} endpoints={p.endpoints} />
      {p.issues?.map((m) => (
        <Notice kind="error">
          <p>{m}</p>
        </Notice>
      ))}
      {f.status && (
        <form method="post" action={consolePath('bulkReplay')} class="bulk">
          <Csrf token={p.csrf} />
          <input type="hidden" name="status" value={f.status} />
          <input type="hidden" name="endpoint" value={f.endpoint ?? ''} />
          <input type="hidden" name="range" value={f.range} />
          <button type="submit">{`Replay every ${f.status} delivery${f.endpoint ? ` of ${f.endpoint}` : ''}${f.range === 'all' ? '' : ` of the last ${f.range}`}…`}</button>
          <span class="muted"> You are asked to confirm, with the count, first.{f.q ? ' The search text is not applied to the replay.' : ''}</span>
        </form>
      )}
      {p.rows.length === 0 ? (
        <p class="muted">No delivery matches.</p>
      ) : (
        <ul class="deliveries">
          {p.rows.map((d) => (
            <li>
              <a href={consolePath('delivery', { id: d.id })} class="row">
                <span class="top">
                  <Status status={d.status} /> <strong>{d.endpointId}</strong> <Time ms={d.receivedAt} />
                </span>
                <span>{`customer ${d.customerId ?? '—'}`}</span>
                <span class="muted">{[d.reason, d.crm.message ?? d.message].filter(Boolean).join(': ') || ' '}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {p.nextCursor && (
        <p>
          <a href={listPath(f, { cursor: p.nextCursor })} rel="next">
            Older deliveries
          </a>
        </p>
      )}
    </Layout>
  );
}

function Timeline(p: { attempts: Attempt[] }) {
  if (p.attempts.length === 0) return <p class="muted">No queued attempt (a sync delivery records its one CRM call on the delivery itself).</p>;
  return (
    <ol class="timeline">
      {p.attempts.map((a) => (
        <li class={`o-${a.outcome}`}>
          <strong>{`#${a.n} ${a.outcome}`}</strong> <Time ms={a.startedAt} />
          <div>
            {[
              a.httpStatus !== null ? `HTTP ${a.httpStatus}` : null,
              a.crmCode !== null ? `CRM code ${a.crmCode}` : null,
              a.crmMessage,
              a.error,
              a.durationMs !== null ? `${a.durationMs} ms` : null,
            ]
              .filter(Boolean)
              .join(' · ')}
          </div>
          {a.nextAttemptAt !== null && (
            <div class="muted">
              next attempt <Time ms={a.nextAttemptAt} />
            </div>
          )}
        </li>
      ))}
    </ol>
  );
}

export const DONE: Record<string, string> = {
  replayed: 'Replay queued: the delivery runs again with the endpoint’s current configuration. Reload to see its outcome.',
};

/** The facts of a delivery as a definition list. */
function DeliveryFacts(p: { d: Delivery }) {
  const d = p.d;
  const facts: [string, unknown][] = [
    ['Endpoint', <a href={consolePath('endpoint', { id: d.endpointId })}>{d.endpointId}</a>],
    ['Received', <Time ms={d.receivedAt} />],
    ['Finished', <Time ms={d.finishedAt} />],
    ['Customer id', d.customerId ?? '—'],
    ['Reason', d.reason ?? '—'],
    ['Message', d.message ?? '—'],
    ['CRM answer', d.crm.httpStatus === null ? '—' : `HTTP ${d.crm.httpStatus}, code ${d.crm.code ?? '—'}, ${d.crm.message ?? ''}`],
    ['Mode', `${d.mode}, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}, ${d.replays} replay${d.replays === 1 ? '' : 's'}`],
    ['Idempotency key', d.idempotencyKey ?? '—'],
  ];
  if (d.duplicateOf) facts.push(['Duplicate of', <a href={consolePath('delivery', { id: d.duplicateOf })}>{d.duplicateOf}</a>]);
  if (d.nextAttemptAt) facts.push(['Next attempt', <Time ms={d.nextAttemptAt} />]);
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
  const d = p.d;
  return (
    <div class="actions">
      <form method="post" action={consolePath('deliveryReplay', { id: d.id })} class="inline">
        <Csrf token={p.csrf} />
        <button type="submit" disabled={!d.replayable}>
          Replay
        </button>
      </form>
      {d.replayable && (
        <a class="button secondary" href={`${consolePath('deliveryPreview', { id: d.id })}#preview`}>
          Preview replay
        </a>
      )}
      {!d.replayable && <span class="muted">Not replayable: in flight, unverified, a duplicate, or its body was removed by retention.</span>}
    </div>
  );
}

/** What arrived (masked as the endpoint says) and what went to the CRM and came back. */
function RequestAndCrm(p: { d: Delivery }) {
  const d = p.d;
  return (
    <>
      <section>
        <h2>What arrived</h2>
        <p class="muted">{`${d.request.method} · ${d.request.contentType ?? 'no content type'} · ${d.request.bytes ?? 0} bytes (masked as the endpoint’s redact says)`}</p>
        <Json value={d.request.body ?? '(body removed by retention)'} label="Request body" />
        <details>
          <summary>Headers and query</summary>
          <Json value={{ headers: d.request.headers, query: d.request.query }} />
        </details>
      </section>
      <section>
        <h2>CRM request</h2>
        {d.crm.request ? <Json value={d.crm.request} label="CRM request" /> : <p class="muted">Nothing was sent to the CRM.</p>}
        {d.crm.response !== null && (
          <>
            <h3>CRM response</h3>
            <Json value={d.crm.response} label="CRM response" />
          </>
        )}
      </section>
    </>
  );
}

export function DeliveryPage(p: { d: Delivery; attempts: Attempt[]; csrf: string; done?: string; refusal?: string; preview?: PreviewResult }) {
  const d = p.d;
  return (
    <Layout title={`Delivery ${d.id}`} nav="deliveries" csrf={p.csrf}>
      {p.done && DONE[p.done] && (
        <Notice kind="ok">
          <p>{DONE[p.done]}</p>
        </Notice>
      )}
      {p.refusal && (
        <Notice kind="error">
          <p>{p.refusal}</p>
        </Notice>
      )}
      <p class="headline">
        <Status status={d.status} />
      </p>
      <DeliveryFacts d={d} />
      {d.warnings.length > 0 && (
        <Notice kind="warn">
          <ul>
            {d.warnings.map((w) => (
              <li>{w}</li>
            ))}
          </ul>
        </Notice>
      )}
      <ReplayActions d={d} csrf={p.csrf} />
      {p.preview && (
        <section id="preview" tabindex={-1}>
          <h2>What a replay would send now</h2>
          <PreviewResultView result={p.preview} />
        </section>
      )}
      <section>
        <h2>Attempts</h2>
        <Timeline attempts={p.attempts} />
      </section>
      <RequestAndCrm d={d} />
    </Layout>
  );
}

const OUTCOME: Record<PreviewResult['outcome'], string> = {
  would_deliver: 'Would update the customer',
  would_skip: 'Would be skipped (skipWhen)',
  would_refuse: 'Would be refused',
  unmatched: 'No customer found',
  conflict: 'Conflicting customers',
  nothing_to_send: 'Nothing to send',
};

/** A preview's outcome, warnings and CRM body (shared by the delivery and the endpoint pages). */
export function PreviewResultView(p: { result: PreviewResult }) {
  const r = p.result;
  return (
    <div class="preview-result">
      <p>
        <span class={`status g-${r.outcome === 'would_deliver' ? 'ok' : r.outcome === 'would_skip' || r.outcome === 'nothing_to_send' ? 'other' : 'failed'}`}>
          {OUTCOME[r.outcome]}
        </span>
        {r.reason ? ` ${r.reason}` : ''}
        {r.message ? `: ${r.message}` : ''}
      </p>
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
          <h3>CRM body</h3>
          <Json value={r.crm.body} label="CRM body" />
        </>
      )}
      {r.view !== undefined && (
        <details>
          <summary>The payload as the mapping sees it</summary>
          <Json value={r.view} />
        </details>
      )}
    </div>
  );
}

export function BulkConfirmPage(p: { csrf: string; filter: ListFilter; matched: number; limit: number }) {
  const f = p.filter;
  const back = listPath(f);
  return (
    <Layout title="Replay deliveries" nav="deliveries" csrf={p.csrf}>
      {p.matched === 0 ? (
        <Notice kind="warn">
          <p>No replayable delivery matches: nothing to replay.</p>
        </Notice>
      ) : (
        <form method="post" action={consolePath('bulkReplay')}>
          <Csrf token={p.csrf} />
          <input type="hidden" name="status" value={f.status} />
          <input type="hidden" name="endpoint" value={f.endpoint ?? ''} />
          <input type="hidden" name="range" value={f.range} />
          <input type="hidden" name="confirm" value={String(p.matched)} />
          <p class="confirm">{`Replay ${p.matched} ${f.status} deliver${p.matched === 1 ? 'y' : 'ies'}${f.endpoint ? ` of ${f.endpoint}` : ''}${f.range === 'all' ? '' : ` received in the last ${f.range}`}?`}</p>
          <p class="muted">{`Each runs again through the queue with its endpoint’s current configuration (newest first, at most ${p.limit} per run).`}</p>
          <button type="submit">{`Replay ${p.matched}`}</button> <a href={back}>Cancel</a>
        </form>
      )}
    </Layout>
  );
}

export function BulkDonePage(p: { csrf: string; filter: ListFilter; queued: number; matched: number }) {
  return (
    <Layout title="Replay deliveries" nav="deliveries" csrf={p.csrf}>
      <Notice kind="ok">
        <p>{`${p.queued} of ${p.matched} deliveries queued for replay.`}</p>
      </Notice>
      <p>
        <a href={listPath({ ...p.filter, status: 'queued' })}>See them</a> · <a href={listPath(p.filter)}>Back to the list</a>
      </p>
    </Layout>
  );
}

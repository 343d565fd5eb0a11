import type { Bucket, StatusGroup, overview } from '../../deliveries/stats';
import type { CrmGate } from '../../pipeline/crm-status';
import type { DeliveryStatus } from '../../deliveries/store';
import type { Problem } from '../../watch/problems';
import { Csrf, Explain, Layout, Notice, Status, Time } from './layout';
import { consolePath, consolePathWith } from '../paths';
import { useCan, useT } from '../i18n';

type Data = Awaited<ReturnType<typeof overview>>;
const GROUP_ORDER: StatusGroup[] = ['ok', 'failed', 'pending', 'other'];
const COLOURS: Record<StatusGroup, string> = { ok: '#1a7f37', failed: '#cf222e', pending: '#bf8700', other: '#8c959f' };

/** Stacked bars, one per bucket, as inline SVG (no chart library); the same numbers follow as a table. */
/**
 * Stacked bars by status group, with the numbers in a table. `named`: the labels are already in a named zone (no script
 * conversion).
 */
export function Chart(p: {
  title: string;
  buckets: Bucket[];
  label: (b: Bucket, i: number) => string;
  named?: boolean;
}) {
  const t = useT();
  const GROUPS = GROUP_ORDER.map((g) => [g, t.overview.groups[g]] as const);
  const max = Math.max(1, ...p.buckets.map((b) => b.counts.ok + b.counts.failed + b.counts.pending + b.counts.other));
  const w = 10;
  const total = (g: StatusGroup) => p.buckets.reduce((n, b) => n + b.counts[g], 0);
  return (
    <figure class="chart">
      <figcaption>
        {p.title}:{' '}
        {GROUPS.map(([g, name]) => (
          <span class="legend">
            <i class={`g-${g}`}></i>
            {`${name} ${total(g)}`}
          </span>
        ))}
      </figcaption>
      <svg
        viewBox={`0 0 ${p.buckets.length * w} 100`}
        preserveAspectRatio="none"
        role="img"
        aria-label={t.overview.stacked(p.title)}
      >
        {p.buckets.map((b, i) => {
          let y = 100;
          return (
            <g>
              <title>{`${p.label(b, i)}: ${GROUPS.map(([g, name]) => `${b.counts[g]} ${name}`).join(', ')}`}</title>
              {GROUPS.map(([g]) => {
                const h = (b.counts[g] / max) * 100;
                y -= h;
                return h > 0 ? <rect x={i * w + 1} y={y} width={w - 2} height={h} fill={COLOURS[g]} /> : null;
              })}
            </g>
          );
        })}
      </svg>
      <div class="axis">
        <BucketTime b={p.buckets[0]!} text={p.label(p.buckets[0]!, 0)} named={p.named} />
        <BucketTime
          b={p.buckets[p.buckets.length - 1]!}
          text={p.label(p.buckets[p.buckets.length - 1]!, p.buckets.length - 1)}
          named={p.named}
        />
      </div>
      <details>
        <summary>{t.overview.numbers}</summary>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.overview.from}</th>
                {GROUPS.map(([, name]) => (
                  <th scope="col">{name}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {p.buckets.map((b, i) => (
                <tr>
                  <td>
                    <BucketTime b={b} text={p.label(b, i)} named={p.named} />
                  </td>
                  {GROUPS.map(([g]) => (
                    <td>{b.counts[g]}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

/** A bucket's start, in UTC as rendered; the script shows it in the reader's zone like every other time (named). */
function BucketTime(p: { b: Bucket; text: string; named?: boolean }) {
  if (p.named) return <span>{p.text}</span>;
  return (
    <time datetime={new Date(p.b.start).toISOString()} data-style="short">
      {p.text}
    </time>
  );
}

function FailureList(p: { rows: Data['newestFailures']; empty: string }) {
  if (p.rows.length === 0) return <p class="muted">{p.empty}</p>;
  return (
    <ul class="cards">
      {p.rows.map((f) => (
        <li>
          <a href={consolePath('delivery', { id: f.id })}>
            <Status status={f.status} /> <strong>{f.endpointId}</strong>
          </a>
          <span class="muted">
            {' '}
            <Time ms={f.receivedAt} />
          </span>
          <div>
            <Explain status={f.status} reason={f.reason} />
          </div>
          {f.message && <div class="muted">{f.message}</div>}
        </li>
      ))}
    </ul>
  );
}

/** CRM calls paused (the CRM kept failing, or asked to wait): what happens to the leads, and a button to resume now. */
function CrmPaused(p: { gates: CrmGate[]; csrf: string }) {
  const t = useT();
  if (p.gates.length === 0) return null;
  const until = Math.max(...p.gates.map((g) => (g.pausedUntil ? Date.parse(g.pausedUntil) : 0)));
  return (
    <Notice kind="warn">
      <h2 id="crm-paused">{t.overview.crmPaused}</h2>
      <p>
        {t.overview.crmPausedBody} <Time ms={until} />
      </p>
      <p class="muted">
        <code>crm_paused</code> {p.gates.map((g) => g.why).join('; ')}
      </p>
      {useCan()('operator') && (
        <form method="post" action={consolePath('crmResume')}>
          <Csrf token={p.csrf} />
          <button type="submit">{t.overview.crmResume}</button>
        </form>
      )}
    </Notice>
  );
}

/** Open problems first, then those acknowledged: each with its count, its times, and the buttons that move it on. */
function Problems(p: { problems: Problem[]; csrf: string; resolved?: Problem | null }) {
  const t = useT();
  const w = t.watch;
  const can = useCan();
  return (
    <section aria-labelledby="problems">
      <h2 id="problems">{w.title}</h2>
      {p.resolved && (
        <Notice kind="ok">
          <p>{w.resolvedNotice(p.resolved.count)}</p>
          <form method="post" action={consolePath('bulkReplay')} class="inline">
            <Csrf token={p.csrf} />
            <input type="hidden" name="endpoint" value={p.resolved.endpointId} />
            <input type="hidden" name="status" value={p.resolved.status} />
            <button type="submit">{w.replayThem}</button>
          </form>
        </Notice>
      )}
      {p.problems.length === 0 ? (
        <p class="muted">{w.none}</p>
      ) : (
        <ul class="cards problems">
          {p.problems.map((x) => (
            <li data-problem={x.id}>
              <span class={`status g-${x.state === 'open' ? 'bad' : 'warn'}`}>{w.state[x.state]}</span>{' '}
              <strong>{x.endpointId}</strong> <Status status={x.status as DeliveryStatus} />{' '}
              {x.reason && <code>{x.reason}</code>}
              <div>
                {w.count(x.count)} · {w.first} <Time ms={x.firstSeen} /> · {w.last} <Time ms={x.lastSeen} />
                {x.acknowledgedBy && ` · ${w.acknowledgedBy(x.acknowledgedBy)}`}
              </div>
              <div>
                <a href={consolePathWith('deliveries', { endpoint: x.endpointId, status: x.status })}>{w.see}</a>{' '}
                {x.state === 'open' && can('operator') && (
                  <form method="post" action={consolePath('problemAcknowledge', { id: x.id })} class="inline">
                    <Csrf token={p.csrf} />
                    <button type="submit" class="secondary">
                      {w.acknowledge}
                    </button>
                  </form>
                )}{' '}
                {can('operator') && (
                  <form method="post" action={consolePath('problemResolve', { id: x.id })} class="inline">
                    <Csrf token={p.csrf} />
                    <button type="submit" class="secondary">
                      {w.resolve}
                    </button>
                  </form>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function OverviewPage(p: {
  data: Data;
  csrf: string;
  paused?: CrmGate[];
  resumed?: boolean;
  problems: Problem[];
  resolved?: Problem | null;
}) {
  const t = useT();
  const hourLabel = (b: Bucket) => `${new Date(b.start).toISOString().slice(11, 16)} UTC`;
  const dayLabel = (b: Bucket) => `${new Date(b.start).toISOString().slice(5, 16).replace('T', ' ')} UTC`;
  const failing = p.data.failingNow;
  return (
    <Layout title={t.overview.title} nav="overview" csrf={p.csrf}>
      <CrmPaused gates={p.paused ?? []} csrf={p.csrf} />
      {p.resumed && (
        <Notice kind="ok">
          <p>{t.overview.crmResumed}</p>
        </Notice>
      )}
      <Problems problems={p.problems} csrf={p.csrf} resolved={p.resolved} />
      <section aria-labelledby="failing">
        <h2 id="failing">{t.overview.failingNow}</h2>
        <FailureList rows={failing} empty={t.overview.failingEmpty} />
      </section>
      <section class="charts">
        <Chart title={t.overview.hours} buckets={p.data.hours} label={hourLabel} />
        <Chart title={t.overview.days} buckets={p.data.days} label={dayLabel} />
      </section>
      <section aria-labelledby="newest">
        <h2 id="newest">{t.overview.newest}</h2>
        <FailureList rows={p.data.newestFailures} empty={t.overview.newestEmpty} />
        <p>
          <a href={consolePathWith('deliveries', { status: 'attention' })}>{t.overview.allFailed}</a>
        </p>
      </section>
    </Layout>
  );
}

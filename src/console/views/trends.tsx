/** 趋势: one endpoint's webhooks per hour or day by outcome, the share refused, the CRM's answer time (p50, p95). */
import type { TrendBucket, TrendRange } from '../../watch/trends';
import { consolePath, consolePathWith } from '../paths';
import { useT } from '../i18n';
import { Layout } from './layout';
import { Chart } from './overview';

const RANGES: TrendRange[] = ['24h', '7d', '30d'];

/** A histogram bucket's bound as a reader reads it: "≤ 300 ms", "> 10 s", or — for no call. */
function ms(v: number | null, none: string): string {
  if (v === null) return none;
  if (!Number.isFinite(v)) return '> 10 s';
  return v >= 1000 ? `≤ ${v / 1000} s` : `≤ ${v} ms`;
}

export function TrendsPage(p: {
  csrf: string;
  endpointId: string;
  range: TrendRange;
  zone: string;
  buckets: TrendBucket[];
}) {
  const t = useT();
  const w = t.trends;
  const total = (b: TrendBucket) => b.counts.ok + b.counts.failed + b.counts.pending + b.counts.other;
  return (
    <Layout title={w.title(p.endpointId)} nav="endpoints" csrf={p.csrf}>
      <p>
        {RANGES.map((r) => (
          <>
            <a
              href={consolePathWith('endpointTrends', { range: r }, { id: p.endpointId })}
              aria-current={r === p.range ? 'page' : undefined}
            >
              {w.ranges[r]}
            </a>{' '}
          </>
        ))}
        · {w.zone(p.zone)} · <a href={consolePath('endpoint', { id: p.endpointId })}>{w.back}</a>
      </p>
      <section class="charts">
        <Chart title={w.ranges[p.range]} buckets={p.buckets} label={(b) => (b as TrendBucket).label} named />
      </section>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">{w.when}</th>
              <th scope="col">{w.received}</th>
              <th scope="col">{w.refusedShare}</th>
              <th scope="col">{w.p50}</th>
              <th scope="col">{w.p95}</th>
            </tr>
          </thead>
          <tbody>
            {p.buckets.map((b) => (
              <tr>
                <td>{b.label}</td>
                <td>{total(b)}</td>
                <td>{total(b) ? `${Math.round((b.refused / total(b)) * 100)}%` : t.none}</td>
                <td>{ms(b.p50, t.none)}</td>
                <td>{ms(b.p95, t.none)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted">{w.how}</p>
    </Layout>
  );
}

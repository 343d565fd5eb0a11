/**
 * Watch it without watching: the cron's sweep (every 5 minutes) over the deliveries log. Silence alerts for the
 * endpoints that say how often leads are expected (`watch`), failures grouped into problems, the daily digest
 * at DIGEST_HOUR, and the hourly trends per endpoint (./trends.ts). Nothing here runs on a webhook's path: it reads the
 * log and writes only what changed.
 */
import { countsBetween, latestOf, PROBLEM_STATUSES } from '../deliveries/store';
import { idFloor } from '../deliveries/id';
import { getEndpoint, listEndpointSummaries, type EndpointSummary } from '../endpoints/store';
import { notifyTarget, sendMessage, type Message, type NotifyTarget } from '../notify';
import { isInside, localTime, parseHours, watchedMinutes, type Hours } from '../shared/hours';
import { digestMessage, problemMessage, silenceMessage, type DigestLine, type SilenceKind } from './messages';
import { listProblems, sweepProblems } from './problems';
import { readStates, swapState } from './state';
import { pruneTrends, sweepTrends } from './trends';

/** Trends are kept this long (the longest range the console shows is 30 days). */
const TRENDS_KEPT_MS = 35 * 86_400_000;

export type WatchEnv = {
  DB: D1Database;
  ENDPOINTS: KVNamespace;
  NOTIFY_URL?: string;
  NOTIFY_FORMAT?: string;
  NOTIFY_LANG?: string;
  CONSOLE_URL?: string;
  WATCH_TIME_ZONE?: string;
  DIGEST_HOUR?: string;
};

/** Where the console's pages are: CONSOLE_URL, else the origin the console last saw itself at (KV), else relative. */
export const CONSOLE_ORIGIN_KEY = 'v1:console-origin';
async function consoleBase(env: WatchEnv): Promise<string> {
  if (env.CONSOLE_URL) return env.CONSOLE_URL.replace(/\/+$/, '');
  const origin = await env.ENDPOINTS.get(CONSOLE_ORIGIN_KEY).catch(() => null);
  return `${origin ?? ''}/console`;
}

/** `build` gets the target (its language) and the endpoint's name as people know it. */
type Send = (endpointId: string | null, build: (target: NotifyTarget, name: string) => Message) => Promise<void>;

/** Sends to the endpoint's own target (else the Worker's), built in that target's language. */
function sender(env: WatchEnv, fetchFn: typeof fetch): { send: Send; sent: () => number } {
  let sent = 0;
  const send: Send = async (endpointId, build) => {
    const endpoint = endpointId ? await getEndpoint(env.ENDPOINTS, endpointId).catch(() => null) : null;
    const target = notifyTarget(endpoint?.config.notify, env);
    if (target && (await sendMessage(fetchFn, target, build(target, endpoint?.config.name ?? endpointId ?? ''))))
      sent++;
  };
  return { send, sent: () => sent };
}

/** An endpoint's silence state: what was last said, when, from when it is watched, and the last webhook then. */
type SilenceState = { state: 'ok' | SilenceKind; since: number; watchedSince: number; lastAt: number | null };

/** The rejected webhooks that make "receiving, but every one is refused": at least this many, and nothing else. */
const REFUSED_RUN = 3;

async function sweepSilence(env: WatchEnv, now: number, zone: string, base: string, send: Send) {
  const watched = (await listEndpointSummaries(env.ENDPOINTS)).filter(
    (e): e is EndpointSummary & { id: string; watch: NonNullable<EndpointSummary['watch']> } => !!e.watch && e.enabled,
  );
  const states = await readStates<SilenceState>(env.DB, 'silence:');
  let alerts = 0;
  for (const e of watched) {
    const key = `silence:${e.id}`;
    const stored = states.get(key);
    const prev: SilenceState = stored?.value ?? { state: 'ok', since: now, watchedSince: now, lastAt: null };
    const hours = parseHours(e.watch.hours);
    const tz = e.watch.timeZone ?? zone;
    const limit = e.watch.silentAfterMinutes;
    const latest = await latestOf(env.DB, e.id, 20);
    const lastAt = latest[0]?.received_at ?? null;
    const recent = latest.filter((d) => d.received_at >= now - limit * 60_000);
    const refused = recent.length >= REFUSED_RUN && recent.every((d) => d.status === 'rejected');
    const watchedHours = hours === 'invalid' ? null : (hours as Hours);
    const quietFor = watchedMinutes(lastAt ?? prev.watchedSince, now, watchedHours, tz, limit);
    const silent = quietFor >= limit && isInside(now, watchedHours, tz);
    // silent stays silent until a webhook arrives (outside the hours too); refused until one is not refused
    const stillSilent = prev.state === 'silent' && lastAt === prev.lastAt;
    const next: SilenceState['state'] = refused ? 'refused' : silent || stillSilent ? 'silent' : 'ok';
    if (next === prev.state) {
      // first seen: from when it is watched (a quiet endpoint never seen before has been quiet since now)
      if (!stored) await swapState(env.DB, key, null, prev, now);
      continue;
    }
    // said once, by the run whose swap took
    const moved = await swapState(
      env.DB,
      key,
      stored?.raw ?? null,
      { state: next, since: now, watchedSince: prev.watchedSince, lastAt },
      now,
    );
    if (!moved) continue;
    const kind: SilenceKind = next === 'ok' ? 'recovered' : next;
    const minutes = Math.round(next === 'ok' ? 0 : Math.max(quietFor, limit));
    await send(e.id, (t, name) =>
      silenceMessage(kind, { endpointId: e.id, name, lastAt, minutes, zone: tz }, t.lang, base),
    );
    alerts++;
  }
  return { watched: watched.length, alerts };
}

async function sendDigest(env: WatchEnv, now: number, zone: string, base: string, send: Send): Promise<boolean> {
  const hour = Number(env.DIGEST_HOUR);
  if (env.DIGEST_HOUR === undefined || env.DIGEST_HOUR === '' || !Number.isInteger(hour) || hour < 0 || hour > 23)
    return false;
  const local = localTime(now, zone);
  if (Math.floor(local.minute / 60) !== hour) return false;
  const done = (await readStates<string>(env.DB, 'digest')).get('digest');
  if (done?.value === local.date) return false;
  // the day claimed first: of two overlapping cron runs, only the one whose claim took sends it
  if (!(await swapState(env.DB, 'digest', done?.raw ?? null, local.date, now))) return false;
  const counts = await countsBetween(env.DB, idFloor(now - 86_400_000), idFloor(now + 1));
  const by = new Map<string, DigestLine>();
  let attention = 0;
  for (const c of counts) {
    const line = by.get(c.endpoint_id) ?? {
      endpointId: c.endpoint_id,
      received: 0,
      delivered: 0,
      created: 0,
      unmatched: 0,
      refused: 0,
      failed: 0,
    };
    line.received += c.n;
    line.created += c.created;
    if (c.status === 'delivered' || c.status === 'unchanged') line.delivered += c.n;
    else if (c.status === 'unmatched') line.unmatched += c.n;
    else if (c.status === 'rejected') line.refused += c.n;
    else if ((PROBLEM_STATUSES as readonly string[]).includes(c.status)) line.failed += c.n;
    if ((PROBLEM_STATUSES as readonly string[]).includes(c.status)) attention += c.n;
    by.set(c.endpoint_id, line);
  }
  const open = await listProblems(env.DB, { state: 'open', limit: 50 });
  const lines = [...by.values()].sort((a, b) => (a.endpointId < b.endpointId ? -1 : 1));
  await send(null, (t) => digestMessage({ date: local.date, lines, open, attention, zone }, t.lang, base));
  return true;
}

/** The cron's watch: problems, silence, the digest. What it sent, for the cron's log line. */
export async function watchSweep(env: WatchEnv, now: number, fetchFn: typeof fetch = (i, init) => fetch(i, init)) {
  const zone = env.WATCH_TIME_ZONE || 'Asia/Shanghai';
  const base = await consoleBase(env);
  const { send, sent } = sender(env, fetchFn);
  const events = await sweepProblems(env.DB, now);
  for (const ev of events)
    await send(ev.problem.endpointId, (t, name) => problemMessage(ev.kind, ev.problem, name, zone, t.lang, base));
  const silence = await sweepSilence(env, now, zone, base, send);
  const digest = await sendDigest(env, now, zone, base, send);
  const trendRows = await sweepTrends(env.DB, now);
  await pruneTrends(env.DB, now - TRENDS_KEPT_MS);
  return {
    problems: events.length,
    silenceAlerts: silence.alerts,
    watched: silence.watched,
    digest,
    messages: sent(),
    trendRows,
  };
}

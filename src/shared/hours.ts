/**
 * An endpoint's watched hours ("09:00-22:00" in a time zone, or around the clock) and how many minutes of them lie
 * between two moments: a lead at 21:50 and none by 09:10 the next morning is 20 watched minutes of silence, not 11 h.
 */
export type Hours = { from: number; to: number } | null;

const HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;

/** "09:00-22:00" as minutes of the day (an end before the start wraps past midnight: "22:00-06:00"). */
export function parseHours(text: string | undefined): Hours | 'invalid' {
  if (text === undefined) return null;
  const m = HOURS.exec(text);
  if (!m) return 'invalid';
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = Number(m[3]) * 60 + Number(m[4]);
  return from === to ? 'invalid' : { from, to };
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The local date (YYYY-MM-DD) and minute of the day of a moment in a zone. */
export function localTime(ms: number, zone: string): { date: string; minute: number } {
  const parts = Object.fromEntries(
    formatter(zone)
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

export function isInside(ms: number, hours: Hours, zone: string): boolean {
  if (!hours) return true;
  const m = localTime(ms, zone).minute;
  return hours.from < hours.to ? m >= hours.from && m < hours.to : m >= hours.from || m < hours.to;
}

const STEP_MS = 5 * 60_000;

/**
 * Watched minutes between `from` and `to`, counted back from `to` in 5-minute steps, stopping once `enough` is reached.
 */
export function watchedMinutes(from: number, to: number, hours: Hours, zone: string, enough: number): number {
  if (to <= from) return 0;
  if (!hours) return (to - from) / 60_000;
  let minutes = 0;
  // at most 31 days of steps: past that, any watch has long alerted
  for (let t = to, steps = 0; t > from && minutes < enough && steps < 31 * 288; t -= STEP_MS, steps++) {
    if (isInside(t - 1, hours, zone)) minutes += Math.min(STEP_MS, t - from) / 60_000;
  }
  return minutes;
}

/**
 * The coordination pieces on their own: versions compared as senders write them, and the customer sequences' rules in
 * the coordinator (a real local Durable Object, called as the Worker calls it: a turn alone, `calls: 0`).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { compareVersions, type Place, type TurnEnd, versionText } from '../src/coordination';
import { isOlder } from '../src/coordination/version';

describe('versions', () => {
  it('compares numbers as numbers (any length), times as times, text as text', () => {
    expect(compareVersions('9', '10')).toBe(-1);
    expect(compareVersions('688346218203447297', '688346218203447296')).toBe(1);
    expect(compareVersions('1.5', '1.25')).toBe(1);
    // 金数据 updated_at (UTC, ms) and 简道云 updateTime
    expect(compareVersions('2026-11-20T08:30:00.000Z', '2026-11-20T08:30:00.050Z')).toBe(-1);
    expect(compareVersions('2026-11-20 16:30:00', '2026-11-20 16:29:59')).toBe(1);
    expect(compareVersions('b', 'a')).toBe(1);
    expect(compareVersions('7', '7')).toBe(0);
  });

  it('does not compare a number with a time: receipt order decides then', () => {
    expect(compareVersions('1763627400123', '2026-11-20T08:30:00.000Z')).toBeNull();
    expect(isOlder('1', '2026-11-20T08:30:00.000Z')).toBe(false);
    expect(isOlder(null, '5')).toBe(false);
    expect(isOlder('4', '5')).toBe(true);
  });

  it('keeps a version as trimmed text', () => {
    expect(versionText(1763627400123)).toBe('1763627400123');
    expect(versionText('  v2 ')).toBe('v2');
    expect(versionText('')).toBeNull();
    expect(versionText({ a: 1 })).toBeNull();
    expect(versionText('x'.repeat(500))).toHaveLength(128);
  });
});

describe('a customer sequence', () => {
  const limits = { maxConcurrency: 100, maxPerSecond: 1000, pauseAfterFailures: 3 };
  /** A fresh coordinator and one customer's line in it. */
  function sequence() {
    const coordinator = env.COORDINATOR.get(env.COORDINATOR.idFromName(`unit:${crypto.randomUUID()}`));
    const key = `pl:mod:${crypto.randomUUID()}`;
    const place = (deliveryId: string, version: string | null = null, endpointId = 'ep', round = 0): Place => ({
      key,
      ticket: { deliveryId, endpointId, version, round },
    });
    return {
      place,
      register: (id: string) => coordinator.join([place(id)]),
      acquire: (p: Place, options: { force?: boolean; waitMs?: number } = {}) =>
        coordinator.begin({ place: p, calls: 0, turn: { leaseMs: 30_000, ...options }, slotWaitMs: 0, limits }),
      release: (p: Place, end: TurnEnd) => coordinator.end({ place: p, end, slot: null, outcome: { kind: 'ok' } }),
    };
  }
  const granted = { kind: 'granted', slot: null, probe: false };

  it('grants the earliest registered; a later one waits; the end of a turn names the next', async () => {
    const s = sequence();
    await s.register('a1');
    await s.register('a2');
    expect(await s.acquire(s.place('a2'))).toMatchObject({ kind: 'wait', head: 'a1', running: false });
    expect(await s.acquire(s.place('a1'))).toEqual(granted);
    expect(await s.acquire(s.place('a2'))).toMatchObject({ kind: 'wait', head: 'a1', running: true });
    expect(await s.release(s.place('a1'), 'applied')).toEqual({ next: 'a2' });
    expect(await s.acquire(s.place('a2'))).toEqual(granted);
  });

  it('a retrying delivery keeps its place; an ended one lets the next go', async () => {
    const s = sequence();
    await s.register('b1');
    await s.register('b2');
    expect(await s.acquire(s.place('b1'))).toEqual(granted);
    expect(await s.release(s.place('b1'), 'retry')).toEqual({ next: null });
    expect(await s.acquire(s.place('b2'))).toMatchObject({ kind: 'wait', head: 'b1' });
    expect(await s.acquire(s.place('b1'))).toEqual(granted);
    expect(await s.release(s.place('b1'), 'ended')).toEqual({ next: 'b2' });
    expect(await s.acquire(s.place('b2'))).toEqual(granted);
  });

  it('an older version than the last applied from the same endpoint is superseded; another endpoint is not', async () => {
    const s = sequence();
    expect(await s.acquire(s.place('c2', '2'))).toEqual(granted);
    await s.release(s.place('c2', '2'), 'applied');
    expect(await s.acquire(s.place('c1', '1'))).toEqual({ kind: 'superseded', by: 'c2', byVersion: '2', next: null });
    expect(await s.acquire(s.place('c0', '1', 'other-form'))).toEqual(granted);
    expect(await s.acquire(s.place('c1', '1'), { force: true })).toMatchObject({ kind: 'wait' });
  });

  it('a delivery applied before its Worker stopped is "done" when tried again; replayed since, it is sent again', async () => {
    const s = sequence();
    expect(await s.acquire(s.place('d1'))).toEqual(granted);
    await s.release(s.place('d1'), 'applied');
    expect(await s.acquire(s.place('d1'))).toEqual({ kind: 'done' });
    expect(await s.acquire(s.place('d1', null, 'ep', 1))).toEqual(granted);
  });

  it('the same delivery asking again while its turn runs (its Worker stopped mid-call) gets it again', async () => {
    const s = sequence();
    await s.register('e2');
    expect(await s.acquire(s.place('e1'))).toEqual(granted);
    expect(await s.acquire(s.place('e1'))).toEqual(granted);
    expect(await s.acquire(s.place('e2'))).toMatchObject({ kind: 'wait', head: 'e1', running: true });
  });

  it('a delivery that asks while another runs may wait for that turn to end (earliest first), instead of being told to wait', async () => {
    const s = sequence();
    expect(await s.acquire(s.place('f1'))).toEqual(granted);
    const later = s.acquire(s.place('f3'), { waitMs: 5_000 });
    const earlier = s.acquire(s.place('f2'), { waitMs: 5_000 });
    // f1 ends: f2 (received earlier) gets the turn, f3 waits on for f2
    expect(await s.release(s.place('f1'), 'applied')).toEqual({ next: null });
    expect(await earlier).toEqual(granted);
    await s.release(s.place('f2'), 'applied');
    expect(await later).toEqual(granted);
  });

  it('a waiter is told at once when the running delivery goes back in line to retry', async () => {
    const s = sequence();
    expect(await s.acquire(s.place('g1'))).toEqual(granted);
    const waiting = s.acquire(s.place('g2'), { waitMs: 5_000 });
    await s.release(s.place('g1'), 'retry');
    expect(await waiting).toMatchObject({ kind: 'wait', head: 'g1', running: false });
  });
});

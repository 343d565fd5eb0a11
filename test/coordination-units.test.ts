/**
 * The coordination pieces on their own: versions compared as senders write them, and the customer sequence's rules
 * (a real local Durable Object, called as the Worker calls it).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { compareVersions, versionText } from '../src/coordination';
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
  const sequence = () => env.SEQUENCES.get(env.SEQUENCES.idFromName(`unit:${crypto.randomUUID()}`));
  const t = (deliveryId: string, version: string | null = null, endpointId = 'ep', round = 0) => ({ deliveryId, endpointId, version, round });
  const lease = { leaseMs: 30_000 };

  it('grants the earliest registered; a later one waits; the end of a turn names the next', async () => {
    const s = sequence();
    await s.register(t('a1'));
    await s.register(t('a2'));
    expect(await s.acquire(t('a2'), lease)).toMatchObject({ kind: 'wait', head: 'a1', running: false });
    expect(await s.acquire(t('a1'), lease)).toEqual({ kind: 'granted' });
    expect(await s.acquire(t('a2'), lease)).toMatchObject({ kind: 'wait', head: 'a1', running: true });
    expect(await s.release(t('a1'), 'applied')).toEqual({ next: 'a2' });
    expect(await s.acquire(t('a2'), lease)).toEqual({ kind: 'granted' });
  });

  it('a retrying delivery keeps its place; an ended one lets the next go', async () => {
    const s = sequence();
    await s.register(t('b1'));
    await s.register(t('b2'));
    expect(await s.acquire(t('b1'), lease)).toEqual({ kind: 'granted' });
    expect(await s.release(t('b1'), 'retry')).toEqual({ next: null });
    expect(await s.acquire(t('b2'), lease)).toMatchObject({ kind: 'wait', head: 'b1' });
    expect(await s.acquire(t('b1'), lease)).toEqual({ kind: 'granted' });
    expect(await s.release(t('b1'), 'ended')).toEqual({ next: 'b2' });
    expect(await s.acquire(t('b2'), lease)).toEqual({ kind: 'granted' });
  });

  it('an older version than the last applied from the same endpoint is superseded; another endpoint is not', async () => {
    const s = sequence();
    expect(await s.acquire(t('c2', '2'), lease)).toEqual({ kind: 'granted' });
    await s.release(t('c2', '2'), 'applied');
    expect(await s.acquire(t('c1', '1'), lease)).toEqual({ kind: 'superseded', by: 'c2', byVersion: '2', next: null });
    expect(await s.acquire(t('c0', '1', 'other-form'), lease)).toEqual({ kind: 'granted' });
    expect(await s.acquire(t('c1', '1'), { ...lease, force: true })).toMatchObject({ kind: 'wait' });
  });

  it('a delivery applied before its Worker stopped is "done" when tried again', async () => {
    const s = sequence();
    expect(await s.acquire(t('d1'), lease)).toEqual({ kind: 'granted' });
    await s.release(t('d1'), 'applied');
    expect(await s.acquire(t('d1'), lease)).toEqual({ kind: 'done' });
    // replayed by hand since: a new turn, sent again
    expect(await s.acquire(t('d1', null, 'ep', 1), lease)).toEqual({ kind: 'granted' });
  });

  it('the same delivery asking again while its turn runs (its Worker stopped mid-call) gets it again', async () => {
    const s = sequence();
    await s.register(t('e2'));
    expect(await s.acquire(t('e1'), lease)).toEqual({ kind: 'granted' });
    expect(await s.acquire(t('e1'), lease)).toEqual({ kind: 'granted' });
    expect(await s.acquire(t('e2'), lease)).toMatchObject({ kind: 'wait', head: 'e1', running: true });
  });

  it('a delivery that asks while another runs may wait for that turn to end (earliest first), instead of being told to wait', async () => {
    const s = sequence();
    expect(await s.acquire(t('f1'), lease)).toEqual({ kind: 'granted' });
    const later = s.acquire(t('f3'), { ...lease, waitMs: 5_000 });
    const earlier = s.acquire(t('f2'), { ...lease, waitMs: 5_000 });
    // f1 ends: f2 (received earlier) gets the turn, f3 waits on for f2
    expect(await s.release(t('f1'), 'applied')).toEqual({ next: null });
    expect(await earlier).toEqual({ kind: 'granted' });
    await s.release(t('f2'), 'applied');
    expect(await later).toEqual({ kind: 'granted' });
  });

  it('a waiter is told at once when the running delivery goes back in line to retry', async () => {
    const s = sequence();
    expect(await s.acquire(t('g1'), lease)).toEqual({ kind: 'granted' });
    const waiting = s.acquire(t('g2'), { ...lease, waitMs: 5_000 });
    await s.release(t('g1'), 'retry');
    expect(await waiting).toMatchObject({ kind: 'wait', head: 'g1', running: false });
  });
});

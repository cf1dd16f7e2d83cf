import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { useLiveCluster } from '../support/liveCluster';
import { waitForReady } from '../support/serverProcess';

const cluster = useLiveCluster(8);
const { start, track } = cluster;

describe('live updates across instances through Redis', () => {
  it('delivers tracking on instance A to a subscriber on instance B, and keeps tracking when Redis is lost', async () => {
    const [a, b] = [start(), start()];
    const [urlA, urlB] = await Promise.all([waitForReady(a), waitForReady(b)]);
    expect(a.output()).toMatch(/live updates: redis event bus/);

    const client = createClient({ url: urlB.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const figures: number[] = [];
    let reached!: () => void;
    const sawTwo = new Promise<void>((resolve) => (reached = resolve));
    let initial!: () => void;
    const sawInitial = new Promise<void>((resolve) => (initial = resolve));
    client.subscribe<{ itemAnalyticsUpdated: { impressions: number } }>(
      { query: `subscription { itemAnalyticsUpdated(itemIds: ["${cluster.itemId}"]) { impressions } }` },
      {
        next: (result) => {
          const impressions = result.data?.itemAnalyticsUpdated.impressions;
          if (impressions === undefined) return;
          figures.push(impressions);
          initial();
          if (impressions === 2) reached();
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await sawInitial;
    expect(await track(urlA, 'redis-1')).toBe('ACCEPTED');
    expect(await track(urlA, 'redis-2')).toBe('ACCEPTED');
    await sawTwo;
    expect(figures[0]).toBe(0);
    expect(figures.at(-1)).toBe(2);
    await client.dispose();

    await cluster.redis.stop();
    expect(await track(urlA, 'redis-3')).toBe('ACCEPTED');
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  });
});

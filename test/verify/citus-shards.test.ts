import { describe, expect, it } from 'vitest';
import { judgeShardReaders, type ShardReaders } from '../../src/verify/citus-attacks.ts';

/**
 * The Citus shard attack's verdict, on placements as run_command_on_placements reports
 * them (no Citus server here: docs/scale.md). The same placements with a grant to the
 * analyst, to PUBLIC, and with a worker that could not be asked.
 */
const placement = (readers: string[] | null, shardId = '102008', error: string | null = null): ShardReaders => ({ table: 'public.patients', node: 'w1:5432', shardId, readers, error });

describe('citus-shards: raw shards on the workers', () => {
  it('holds when no placement is readable by the role or PUBLIC', () => {
    expect(judgeShardReaders('analyst', [placement([]), placement(['pgmask_owner'], '102009')])).toMatchObject({ status: 'held' });
  });

  it('leaks on a broken setup: the analyst (or a member, through its membership) was granted a shard', () => {
    const outcome = judgeShardReaders('analyst', [placement([]), placement(['analyst'], '102009')]);
    expect(outcome.status).toBe('leaked');
    expect(outcome.evidence).toContain('public.patients shard 102009 on w1:5432 is readable by analyst');
  });

  it('leaks when PUBLIC may read a shard', () => {
    expect(judgeShardReaders('metabase_reader', [placement(['public'])])).toMatchObject({ status: 'leaked' });
  });

  it('is skipped, never held, when a placement could not be asked', () => {
    const outcome = judgeShardReaders('analyst', [placement([]), placement(null, '102010', 'connection to the remote node w2:5432 failed')]);
    expect(outcome.status).toBe('skipped');
    expect(outcome.evidence).toContain('connection to the remote node w2:5432 failed');
  });
});

import { describe, it, expect } from 'vitest';
import { parseSearchPath } from '../../src/verify/search-path-attacks.ts';

describe('parseSearchPath', () => {
  it('splits a search_path setting the way PostgreSQL stores it', () => {
    expect(parseSearchPath('"$user", public', 'ana')).toEqual(['ana', 'public']);
    expect(parseSearchPath('masked', 'ana')).toEqual(['masked']);
    expect(parseSearchPath('scratch, masked', 'ana')).toEqual(['scratch', 'masked']);
    expect(parseSearchPath('"we""ird, schema",pg_catalog', 'ana')).toEqual(['we"ird, schema', 'pg_catalog']);
    expect(parseSearchPath('', 'ana')).toEqual([]);
  });
});

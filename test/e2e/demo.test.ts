import { describe, it, expect } from 'vitest';
import { runPgmask } from '../support/cli.ts';

describe('pgmask demo', () => {
  it('starts its own embedded server, masks the clinic and shows the analyst refused', async () => {
    const { code, stdout, stderr } = await runPgmask(['demo', '--rows', '300'], { timeoutMs: 170_000, env: { DATABASE_URL: '' } });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/raw \(public\.patients, as the owner\)/);
    expect(stdout).toMatch(/patient_id\s+P\d+\s+→ [0-9a-f]{20}/);
    expect(stdout).toMatch(/mrn\s+MRN\d+\s+→ MRN-[0-9a-f]{20}/);
    expect(stdout).toMatch(/SELECT \* FROM public\.patients;\n\s+ERROR: permission denied/);
    expect(stdout).not.toContain("!!!");
    expect(stdout).toMatch(/search_path is "?masked"?/);
    expect(stdout).toMatch(/birth_date\s+\d{4}-\d\d-\d\d\s+→ \d{4}-\d\d-\d\d/);
  }, 180_000);
});

import { describe, expect, it } from 'vitest';
import { profileFromArgs } from '../../scripts/stack/cluster/run';

describe('--profile of npm start and npm run stack', () => {
  it('is dev when not given, and reads both --profile NAME and --profile=NAME', () => {
    expect(profileFromArgs(['node', 'start.ts'])).toBe('dev');
    expect(profileFromArgs(['node', 'start.ts', '--profile', 'cluster'])).toBe('cluster');
    expect(profileFromArgs(['node', 'start.ts', '--profile=cluster'])).toBe('cluster');
    expect(profileFromArgs(['node', 'start.ts', '--profile', 'dev'])).toBe('dev');
  });

  it('rejects an unknown or missing profile, naming the flag and the choices', () => {
    expect(() => profileFromArgs(['--profile', 'prod'])).toThrow('--profile must be one of dev, cluster (got "prod")');
    expect(() => profileFromArgs(['--profile'])).toThrow('--profile must be one of dev, cluster (got "")');
  });
});

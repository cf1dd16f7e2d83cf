import { ConfigError, loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('gives working defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      mongoEngine: 'auto',
      mongodbDb: 'gavel',
      seedDemo: true,
      logLevel: 'info',
    });
  });

  it('connects to MONGODB_URI without an embedded engine when it is set', () => {
    expect(loadConfig({ MONGODB_URI: 'mongodb://db:27017' }).mongoEngine).toBe('uri');
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['GAVEL_MONGO_ENGINE', 'sqlite'],
    ['LOG_LEVEL', 'loud'],
    ['MONGODB_URI', 'postgres://db'],
    ['MONGODB_DB', 'bad/name'],
    ['GAVEL_SEED_DEMO', 'maybe'],
    ['NODE_ENV', 'staging'],
    ['SHUTDOWN_TIMEOUT_MS', '0'],
    ['MAX_BODY_BYTES', '1e9'],
    ['AUTH_TOKENS', 'short'],
    ['CURSOR_SECRET', 'short'],
  ])('stops on %s=%s with a message naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^Invalid ${variable}=.*expected`));
  });

  it('requires a CURSOR_SECRET in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/CURSOR_SECRET/);
  });

  it('requires MONGODB_URI when the uri engine is forced', () => {
    expect(() => loadConfig({ GAVEL_MONGO_ENGINE: 'uri' })).toThrow(/MONGODB_URI/);
  });
});

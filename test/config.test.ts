import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, settingNames } from '../src/config';

/** Secrets a production deployment could use: 32+ random-looking bytes, each its own. */
const PRODUCTION = {
  NODE_ENV: 'production',
  CURSOR_SECRET: 'c0ffee'.repeat(6),
  SESSION_SECRET: '5e5510'.repeat(6),
  PRIVACY_SECRET: 'p1ivac'.repeat(6),
} as const;

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

  it('has request limits and keeps websockets to subscriptions by default', () => {
    const config = loadConfig({});
    expect(config.limits).toEqual({
      maxCost: 5_000,
      maxDepth: 10,
      maxAliases: 15,
      maxDirectives: 20,
      maxTokens: 2_000,
      maxQueryChars: 32_768,
      totalCountCost: 100,
      facetsCost: 200,
      analyticsPointCost: 1,
      maxCostByRole: { ADMIN: 25_000, ANALYST: 25_000, SELLER: 10_000, INGEST: 5_000 },
      analyticsMaxPoints: 1_000,
    });
    expect(config.ws).toEqual({ maxConnectionsPerAddress: 100, maxMessagesPerSecond: 50 });
    expect(config.wsAllowQueries).toBe(false);
    // HTTP caps before Apollo (src/server/httpGuard.ts).
    expect(config.maxBodyBytes).toBe(262_144);
    expect(config.httpRequestsPerMinute).toBe(1_200);
    expect(loadConfig({ HTTP_REQUESTS_PER_MINUTE: '0' }).httpRequestsPerMinute).toBe(0);
    expect(() => loadConfig({ HTTP_REQUESTS_PER_MINUTE: '-1' })).toThrow(/HTTP_REQUESTS_PER_MINUTE/);
    expect(() => loadConfig({ GRAPHQL_MAX_QUERY_CHARS: '10' })).toThrow(/GRAPHQL_MAX_QUERY_CHARS/);
    expect(loadConfig({ GRAPHQL_MAX_COST: '20000', WS_ALLOW_QUERIES: 'true' })).toMatchObject({
      limits: { maxCost: 20_000 },
      wsAllowQueries: true,
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
    ['SHUTDOWN_DRAIN_MS', '-1'],
    ['GAVEL_INSTANCE_ID', 'gavel-1\r\nset-cookie: a=b'],
    ['MAX_BODY_BYTES', '1e9'],
    ['AUTH_TOKENS', 'short'],
    ['CURSOR_SECRET', 'short'],
    ['SESSION_SECRET', 'short'],
    ['TRACKING_CLICKS_PER_IMPRESSION', '0'],
    ['TRACKING_REQUIRE_SIGNED_SESSIONS', 'sometimes'],
    ['TRACKING_NEW_SESSIONS_PER_MINUTE', '0'],
    ['TRACKING_AUDIT_ROWS_PER_MINUTE', '-1'],
    ['GRAPHQL_MAX_COST', '0'],
    ['GRAPHQL_MAX_DEPTH', 'deep'],
    ['GRAPHQL_MAX_ALIASES', '-1'],
    ['GRAPHQL_MAX_DIRECTIVES', '1.5'],
    ['GRAPHQL_MAX_TOKENS', '10'],
    ['GRAPHQL_COST_TOTAL_COUNT', 'free'],
    ['GRAPHQL_COST_FACETS', '-5'],
    ['GRAPHQL_COST_ANALYTICS_POINT', '1e3'],
    ['WS_ALLOW_QUERIES', 'sometimes'],
    ['IPV6_LIMIT_PREFIX', '8'],
    ['IPV6_LIMIT_PREFIX', '129'],
    ['EXPOSE_INSTANCE_HEADER', 'sometimes'],
    ['METRICS_TOKEN', 'short'],
    ['METRICS_TOKEN', 'has a space in it somewhere'],
    ['METRICS_OPERATION_NAMES', 'Good,not-a-name'],
    ['METRICS_MAX_OPERATION_NAMES', '5000'],
    ['METRICS_DB_COMMANDS', 'perhaps'],
    ['METRICS_PORT', 'nine'],
    ['METRICS_PORT', '70000'],
    ['LOG_TRACKING_SAMPLE_RATE', '1.5'],
    ['LOG_TRACKING_SAMPLE_RATE', '-0.1'],
    ['LOG_TRACKING_SAMPLE_RATE', 'half'],
  ])('stops on %s=%s with a message naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^Invalid ${variable}=.*expected`));
  });

  it('serves metrics without a token by default and samples tracking logs only in production', () => {
    expect(loadConfig({}).metrics).toEqual({
      token: undefined,
      port: undefined,
      host: '127.0.0.1',
      operationNames: [],
      maxOperationNames: 50,
      dbCommands: false,
    });
    expect(loadConfig({}).logTrackingSampleRate).toBe(1);
    expect(loadConfig(PRODUCTION).logTrackingSampleRate).toBe(0.1);
    expect(
      loadConfig({ METRICS_OPERATION_NAMES: 'SearchItems, TrackImpressions', LOG_TRACKING_SAMPLE_RATE: '0.25' }),
    ).toMatchObject({ metrics: { operationNames: ['SearchItems', 'TrackImpressions'] }, logTrackingSampleRate: 0.25 });
  });

  it('requires a CURSOR_SECRET in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/CURSOR_SECRET/);
  });

  it('requires a SESSION_SECRET in production and requires signed sessions there by default', () => {
    const production = { ...PRODUCTION, SESSION_SECRET: undefined };
    expect(() => loadConfig(production)).toThrow(/SESSION_SECRET/);
    const config = loadConfig(PRODUCTION);
    expect(config.tracking).toMatchObject({ requireSignedSessions: true, clicksPerImpression: 1 });
    expect(loadConfig({}).tracking.requireSignedSessions).toBe(false);
  });

  describe('refuses weak secrets in production, one line naming the variable', () => {
    const refusal = (env: Record<string, string | undefined>): string => {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('loadConfig accepted it');
    };

    it.each([
      ['CURSOR_SECRET', 'gavel-development-cursor-secret'],
      ['SESSION_SECRET', 'gavel-development-session-secret'],
      // Any public default under any name: the development session secret as the cursor secret, say.
      ['CURSOR_SECRET', 'gavel-development-session-secret'],
      ['PRIVACY_SECRET', 'gavel-development-cursor-secret'],
      ['CURSOR_SECRET_PREVIOUS', 'gavel-development-cursor-secret'],
    ])('%s=%s, a development default', (name, value) => {
      const message = refusal({ ...PRODUCTION, [name]: value });
      expect(message).toMatch(new RegExp(`^Invalid ${name}=.*not the public development default`));
      expect(message).not.toContain('\n');
      // Outside production the same value still starts (it is the default there).
      expect(() => loadConfig({ ...PRODUCTION, NODE_ENV: 'development', [name]: value })).not.toThrow();
    });

    it('the value PRIVACY_SECRET derives from the development SESSION_SECRET', () => {
      const derived = loadConfig({}).retention.privacySecret;
      expect(refusal({ ...PRODUCTION, PRIVACY_SECRET: derived })).toMatch(
        /^Invalid PRIVACY_SECRET=.*development default/,
      );
    });

    it.each(['CURSOR_SECRET', 'SESSION_SECRET', 'PRIVACY_SECRET', 'CURSOR_SECRET_PREVIOUS'])(
      '%s shorter than 32 bytes, without printing it',
      (name) => {
        const short = 'x7Kq9-31-bytes-long-secret-val!';
        expect(Buffer.byteLength(short)).toBe(31);
        const message = refusal({ ...PRODUCTION, [name]: short });
        expect(message).toMatch(new RegExp(`^Invalid ${name}=.*at least 32 bytes in production`));
        expect(message).not.toContain(short);
        expect(loadConfig({ ...PRODUCTION, [name]: `${short}?` })).toBeDefined();
        // 16 characters stay enough in development.
        expect(() => loadConfig({ [name]: short })).not.toThrow();
      },
    );

    it('counts bytes, not characters', () => {
      // 16 characters of 2 bytes each.
      expect(() => loadConfig({ ...PRODUCTION, SESSION_SECRET: 'é'.repeat(16) })).not.toThrow();
      expect(refusal({ ...PRODUCTION, SESSION_SECRET: 'é'.repeat(15) })).toMatch(/^Invalid SESSION_SECRET=/);
    });

    it('requires PRIVACY_SECRET explicitly in production instead of deriving it from SESSION_SECRET', () => {
      expect(refusal({ ...PRODUCTION, PRIVACY_SECRET: undefined })).toMatch(
        /^Invalid PRIVACY_SECRET="": expected a random string of at least 32 bytes in production/,
      );
      expect(loadConfig(PRODUCTION).retention.privacySecret).toBe(PRODUCTION.PRIVACY_SECRET);
      // Still derived outside production, and not equal to the session secret it comes from.
      const development = loadConfig({ SESSION_SECRET: PRODUCTION.SESSION_SECRET });
      expect(development.retention.privacySecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(development.retention.privacySecret).not.toBe(PRODUCTION.SESSION_SECRET);
    });

    it.each([
      ['PRIVACY_SECRET', 'SESSION_SECRET'],
      ['PRIVACY_SECRET', 'CURSOR_SECRET'],
      ['SESSION_SECRET', 'CURSOR_SECRET'],
      ['CURSOR_SECRET_PREVIOUS', 'CURSOR_SECRET'],
      ['METRICS_TOKEN', 'PRIVACY_SECRET'],
    ])('%s equal to %s', (name, other) => {
      const value = PRODUCTION[other as keyof typeof PRODUCTION];
      const message = refusal({ ...PRODUCTION, [name]: value });
      expect(message).toMatch(
        new RegExp(`^Invalid ${name}=.*a value of its own in production, not the value of ${other}`),
      );
      expect(message).not.toContain(value);
    });

    it('accepts distinct strong secrets, and a previous cursor secret for rotation', () => {
      const config = loadConfig({ ...PRODUCTION, CURSOR_SECRET_PREVIOUS: 'old-cursor-secret'.padEnd(40, '-') });
      expect(config.cursorSecret).toBe(PRODUCTION.CURSOR_SECRET);
      expect(config.cursorSecretPrevious).toBe('old-cursor-secret'.padEnd(40, '-'));
      expect(loadConfig({}).cursorSecretPrevious).toBeUndefined();
    });
  });

  it('reads CORS_ORIGINS (CORS_ORIGIN as a deprecated alias): any origin in development, none in production by default', () => {
    const production = PRODUCTION;
    expect(loadConfig({}).corsOrigins).toEqual(['*']);
    expect(loadConfig(production).corsOrigins).toEqual([]);
    expect(loadConfig({ ...production, CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    expect(loadConfig({ CORS_ORIGINS: ' https://a.example , http://localhost:3000' }).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
    expect(loadConfig({ CORS_ORIGIN: 'https://old.example' }).corsOrigins).toEqual(['https://old.example']);
    // The new name wins over the alias.
    expect(loadConfig({ CORS_ORIGIN: 'https://old.example', CORS_ORIGINS: 'https://new.example' }).corsOrigins).toEqual(
      ['https://new.example'],
    );
  });

  it.each([
    ['CORS_ORIGINS', 'https://app.example/path'],
    ['CORS_ORIGINS', 'app.example'],
    ['CORS_ORIGIN', 'https://app.example/'],
    ['WS_MAX_CONNECTIONS_PER_ADDRESS', '0'],
    ['WS_MAX_MESSAGES_PER_SECOND', 'many'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('reads METRICS_PORT and METRICS_HOST, refusing the public PORT for metrics', () => {
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics).toMatchObject({
      port: 9464,
      host: '0.0.0.0',
    });
    expect(loadConfig({ METRICS_PORT: '0', PORT: '0' }).metrics.port).toBe(0);
    expect(() => loadConfig({ METRICS_PORT: '4000' })).toThrow(
      /^Invalid METRICS_PORT="4000": expected a port other than PORT \(4000\)/,
    );
  });

  it('requires MONGODB_URI when the uri engine is forced', () => {
    expect(() => loadConfig({ GAVEL_MONGO_ENGINE: 'uri' })).toThrow(/MONGODB_URI/);
  });
});

describe('settingNames', () => {
  it('names every variable .env.example documents (other than the engine tools), so a passed-on setting is never dropped', () => {
    const example = readFileSync(path.join(__dirname, '..', '.env.example'), 'utf8');
    const documented = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]!);
    const engineTools = ['MONGOMS_SYSTEM_BINARY', 'JAVA_HOME'];
    expect(documented.length).toBeGreaterThan(50);
    expect(documented.filter((name) => !engineTools.includes(name) && !settingNames().includes(name))).toEqual([]);
  });
});

import { parseArgs } from 'node:util';
import { withConfiguredDatabase, type CliOutput } from '../cli/cliDatabase';
import { systemClock } from '../shared/clock';
import { ROLES, type Role } from './apiKey';
import { createAuthService, type AuthService } from './auth.service';

const USAGE = `Usage (\`npm run keys -- …\` in a checkout, \`gavel keys …\` in the container image):
  keys create --role ADMIN|ANALYST|SELLER|INGEST [--seller SELLER_ID] [--label TEXT]
  keys revoke KEY_ID
  keys list
Reaches the database the server would use (MONGODB_URI, MONGODB_DB, GAVEL_MONGO_ENGINE, GAVEL_DATA_DIR);
beside a running server on the embedded engine, that server's engine.`;

/** Runs one command against an AuthService; returns the exit code. */
export async function runKeysCommand(auth: AuthService, argv: readonly string[], io: CliOutput): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { role: { type: 'string' }, seller: { type: 'string' }, label: { type: 'string' } },
  });
  const [command, ...rest] = positionals;
  if (command === 'create') {
    const role = values.role?.toUpperCase();
    if (!role || !ROLES.includes(role as Role)) {
      io.err(`--role must be one of ${ROLES.join(', ')}.\n${USAGE}`);
      return 2;
    }
    const created = await auth.createKey({ role: role as Role, sellerId: values.seller, label: values.label });
    io.err(`Created ${role} key ${created.id}. The key below is shown once; store it now.`);
    io.out(created.key);
    return 0;
  }
  if (command === 'revoke' && rest.length === 1) {
    if (!(await auth.revokeKey(rest[0]!))) {
      io.err(`No key with id ${rest[0]}.`);
      return 1;
    }
    io.err(`Revoked ${rest[0]}; running servers stop accepting it within AUTH_KEY_CACHE_TTL_MS.`);
    return 0;
  }
  if (command === 'list') {
    for (const key of await auth.listKeys())
      io.out(
        [
          key._id,
          key.role,
          key.sellerId ?? '-',
          key.createdAt.toISOString(),
          key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active',
          JSON.stringify(key.label ?? ''),
        ].join('\t'),
      );
    return 0;
  }
  io.err(USAGE);
  return 2;
}

/**
 * `npm run keys` / `gavel keys`: validates the configuration like the server, connects (without
 * MONGODB_URI: to the embedded engine of a server running from the same data directory, else
 * starting that engine as `npm start` would), runs the command and disconnects.
 */
export function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliOutput): Promise<number> {
  return withConfiguredDatabase(env, io, (config, connection) =>
    runKeysCommand(createAuthService(config, connection, systemClock), argv, io),
  );
}

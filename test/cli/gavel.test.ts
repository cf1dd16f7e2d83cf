import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { minimumNodeVersion, unsupportedNodeMessage } from '../../src/shared/requireSupportedNode';
import { runGavel } from '../support/serverProcess';

describe('the supported Node.js', () => {
  it("is package.json's engines.node, and older versions get one line naming both", () => {
    expect(minimumNodeVersion()).toBe('22.12');
    expect(unsupportedNodeMessage('22.12.0')).toBeUndefined();
    expect(unsupportedNodeMessage('24.0.0')).toBeUndefined();
    expect(unsupportedNodeMessage('23.0.0')).toBeUndefined();
    expect(unsupportedNodeMessage('22.11.9')).toBe(
      'gavel: Node.js 22.11.9 is not supported; install Node.js 22.12 or newer (24 LTS recommended, see .nvmrc).',
    );
    expect(unsupportedNodeMessage('20.19.2')).toMatch(/^gavel: Node\.js 20\.19\.2 is not supported/);
    expect(unsupportedNodeMessage('8.0.0')).toMatch(/is not supported/);
  });

  // A real old Node where the machine has one (Debian 12's system node is 20).
  const systemNode = '/usr/bin/node';
  const oldSystemNode =
    existsSync(systemNode) &&
    unsupportedNodeMessage(
      spawnSync(systemNode, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim(),
    ) !== undefined;
  (oldSystemNode ? it : it.skip)('refuses to start on an old Node before loading anything else', async () => {
    for (const args of [['serve'], ['keys', 'list']]) {
      const result = await runGavel(args, {}, systemNode);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toMatch(
        /^gavel: Node\.js \d+\.\d+\.\d+ is not supported; install Node\.js 22\.12 or newer/,
      );
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('the gavel command', () => {
  it('refuses an unknown command with its usage (exit 2)', async () => {
    const result = await runGavel(['serv']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'gavel: unknown command "serv"\nUsage: gavel [serve] | gavel keys create|revoke|list … | gavel rollups check|repair|move-sketches … | gavel suggestions check|repair | gavel import FILE\n',
    );
  });

  it('names a bad setting in one line before touching a database (exit 2)', async () => {
    for (const args of [['serve'], ['keys', 'list']]) {
      const result = await runGavel(args, { PORT: 'eighty' });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe('gavel: Invalid PORT="eighty": expected an integer from 0 to 65535.\n');
    }
  });

  it('prints the keys usage for a missing subcommand (exit 2)', async () => {
    const result = await runGavel(['keys'], {
      GAVEL_MONGO_ENGINE: 'uri',
      MONGODB_URI: process.env.GAVEL_TEST_MONGODB_URI!,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('keys create --role ADMIN|ANALYST|SELLER');
  });
});

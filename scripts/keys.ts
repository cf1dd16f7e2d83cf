/** `npm run keys -- create|revoke|list`: manages API keys; see src/auth/keysCli.ts and README "Security". */
import { main } from '../src/auth/keysCli';

main(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

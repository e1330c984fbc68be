#!/usr/bin/env node
import { ConfigError, ROLES, startService } from '../lib/mail/service';

/**
 * One role of the mail relay as a service (systemd units `three-tier-mail-*`
 * on the hosts). Everything comes from the environment the unit sets
 * (lib/mail/service.ts lists the variables); MAIL_ROLE picks the role:
 * gateway, internet-relay, mail-sanitizer or lgwan-ingester. With
 * MAIL_FS_ROOT set, folders stand in for the buckets and the queue.
 */
async function main(argv: string[]): Promise<number> {
  if (argv.length) {
    process.stderr.write(`usage: MAIL_ROLE=<${ROLES.join('|')}> [MAIL_*=...] mail\n(settings come from the environment; see lib/mail/service.ts)\n`);
    return 2;
  }
  let handle;
  try {
    handle = await startService(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`mail: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
  });
  // Graceful stop: no new sessions; messages being stored finish; the outbox stops between messages.
  await handle.stop();
  process.stdout.write(`mail: ${handle.role} stopped\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`mail: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);

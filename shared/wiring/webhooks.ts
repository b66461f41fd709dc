/** The webhooks function's deps from configuration: PostgreSQL (no migrations: the cycle owns the schema) and the bus. */

import { connect } from '../adapters/postgres/client.ts';
import { postgresWebhookWorkerStore } from '../adapters/postgres/webhooks.ts';
import { type Config, ConfigError, requireDatabaseUrl } from '../config.ts';
import { createLogger } from '../log.ts';
import { SecretBox } from '../webhooks/secrets.ts';
import { parseAllowHosts } from '../webhooks/targets.ts';
import type { WebhookWorkerDeps } from '../webhooks/worker.ts';
import { createBus } from './cycle.ts';

export async function webhookDeps(config: Config): Promise<WebhookWorkerDeps> {
  if (!config.WEBHOOK_SECRET_KEY) {
    throw new ConfigError('Invalid configuration:\n  WEBHOOK_SECRET_KEY: required by the webhooks function');
  }
  const sql = connect(requireDatabaseUrl(config), {
    max: config.PG_POOL_MAX,
    idleTimeoutSeconds: config.PG_IDLE_TIMEOUT_SECONDS,
    maxLifetimeSeconds: config.PG_MAX_LIFETIME_SECONDS,
  });
  return {
    store: postgresWebhookWorkerStore(sql),
    bus: await createBus(config),
    box: new SecretBox(config.WEBHOOK_SECRET_KEY),
    policy: { allowHosts: parseAllowHosts(config.WEBHOOK_ALLOW_HOSTS) },
    topic: config.TOPIC_WEBHOOK_DELIVERIES,
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    logger: createLogger({ level: config.LOG_LEVEL, base: { function: 'webhooks' } }),
  };
}

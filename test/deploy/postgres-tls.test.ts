/**
 * verify-ca against a real PostgreSQL serving TLS with a certificate from its own CA, named like a Cloud
 * SQL server certificate (project:instance, not the address dialled): with DATABASE_CA_CERT the client
 * connects encrypted and verified; a server whose certificate another CA signed is refused; without it,
 * sslmode=require accepts any certificate (what the cloud relied on before).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from '../../shared/adapters/postgres/client.ts';
import {
  canRunThrowawayPostgres,
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '../lib/throwaway-postgres.ts';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/** A CA, and a server certificate it signs for CN=project:instance, in dir. */
function makeCa(dir: string, name: string) {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name} CA`,
      '-keyout',
      `${name}-ca.key`,
      '-out',
      `${name}-ca.pem`,
    ],
    dir,
  );
}

if (process.env.CI === 'true' && !canRunThrowawayPostgres()) {
  throw new Error('CI=true: the PostgreSQL binaries for a throw-away cluster are missing');
}

describe(
  'PostgreSQL TLS with the instance CA (verify-ca)',
  canRunThrowawayPostgres() ? {} : { skip: 'no PostgreSQL binaries for a throw-away cluster' },
  () => {
    const certs = mkdtempSync(join(tmpdir(), 'wnm-tls-'));
    let pg: ThrowawayPostgres;

    before(async () => {
      makeCa(certs, 'instance');
      makeCa(certs, 'other');
      openssl(
        [
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          '/CN=water-demo-1:wnm-pg-abc123',
          '-keyout',
          'server.key',
          '-out',
          'server.csr',
        ],
        certs,
      );
      openssl(
        [
          'x509',
          '-req',
          '-in',
          'server.csr',
          '-CA',
          'instance-ca.pem',
          '-CAkey',
          'instance-ca.key',
          '-CAcreateserial',
          '-days',
          '2',
          '-out',
          'server.pem',
        ],
        certs,
      );
      pg = await startThrowawayPostgres({
        // Relative paths are read from the data directory.
        prepare: (dir) => {
          for (const f of ['server.key', 'server.pem']) {
            const to = join(dir, 'data', f);
            execFileSync('cp', [join(certs, f), to]);
            if (process.getuid?.() === 0) execFileSync('chown', ['postgres', to]);
            chmodSync(to, 0o600);
          }
        },
        settings: ['ssl=on', 'ssl_cert_file=server.pem', 'ssl_key_file=server.key'],
      });
    });
    after(() => {
      pg?.destroy();
      rmSync(certs, { recursive: true, force: true });
    });

    const encrypted = async (url: string, caCert?: string) => {
      const sql = connect(url, { max: 1, connectTimeoutMs: 5000, caCert });
      try {
        const [row] = await sql<{ ssl: boolean }[]>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
        return row?.ssl;
      } finally {
        await sql.end({ timeout: 1 });
      }
    };

    test('with the instance CA: encrypted and verified, although the name is project:instance', async () => {
      assert.equal(await encrypted(pg.url, readFileSync(join(certs, 'instance-ca.pem'), 'utf8')), true);
    });

    test('a certificate from another CA is refused', async () => {
      await assert.rejects(
        encrypted(pg.url, readFileSync(join(certs, 'other-ca.pem'), 'utf8')),
        /self.signed|unable to verify|certificate/i,
      );
    });

    test('sslmode=require alone accepts any certificate: why the CA is given', async () => {
      assert.equal(await encrypted(`${pg.url}?sslmode=require`), true);
    });
  },
);

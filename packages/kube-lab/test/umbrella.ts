// What the umbrella chart expects in a real-node namespace before it installs: a database per service on
// the node's PostgreSQL, the Secret webrana-database with their URLs as pods reach them, and the auth
// seed's passwords in webrana-auth-seed.
import { randomBytes } from 'node:crypto';
import { getService, SERVICE_NAMES, type ServiceName } from '@webrana/registry';
import { withClient } from '@webrana/testing';
import { kubectl, type RealNodeNamespace } from '../src';

/** Creates the databases `<service database>_<tag>` and the two Secrets; returns the database names. */
export async function prepareUmbrella(lab: RealNodeNamespace, tag: string): Promise<Record<ServiceName, string>> {
  const dbs = Object.fromEntries(SERVICE_NAMES.map((s) => [s, `${getService(s).database}_${tag}`])) as Record<
    ServiceName,
    string
  >;
  await withClient(lab.postgres.url, async (c) => {
    for (const service of SERVICE_NAMES) await c.query(`CREATE DATABASE "${dbs[service]}"`);
  });
  const urls = SERVICE_NAMES.map((s) => `--from-literal=${getService(s).urlVariable}=${lab.postgres.podUrl(dbs[s])}`);
  await kubectl(lab, ['create', 'secret', 'generic', 'webrana-database', '-n', lab.ns, ...urls]);
  await kubectl(lab, [
    'create',
    'secret',
    'generic',
    'webrana-auth-seed',
    '-n',
    lab.ns,
    // The seed's password policy: 12+ characters with lower, upper, digit and symbol.
    `--from-literal=SUPER_ADMIN_PASSWORD=${randomBytes(12).toString('hex')}aA1!`,
    `--from-literal=ADMIN_PASSWORD=${randomBytes(12).toString('hex')}aA1!`,
  ]);
  return dbs;
}

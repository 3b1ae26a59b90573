// Prisma 6 CLI config for the WebAssembly schema engine over a pg driver adapter.
// Read by the Prisma 6 CLI that src/index.ts starts; the schema path and URL come from the environment.
'use strict';
const { defineConfig } = require('prisma6/config');
const { PrismaPg } = require('adapter-pg6');
const pg = require('pg');

// adapter-pg 6 cannot deserialize PostgreSQL's `name` (OID 19) and `"char"` (OID 18) catalog columns
// ("Column type 'name' could not be deserialized"); reporting them as text (OID 25) is lossless.
const TEXT_LIKE_OIDS = new Set([18, 19]);
function textify(result) {
  for (const field of result?.fields ?? []) if (TEXT_LIKE_OIDS.has(field.dataTypeID)) field.dataTypeID = 25;
  return result;
}
class CatalogFriendlyClient extends pg.Client {
  // pg.Pool#query calls this in callback style, adapters await it: both are covered.
  query(config, values, callback) {
    const done = typeof values === 'function' ? values : callback;
    if (typeof done === 'function') {
      const wrapped = (error, result) => done(error, error ? result : textify(result));
      return typeof values === 'function' ? super.query(config, wrapped) : super.query(config, values, wrapped);
    }
    const result = super.query(config, values);
    return typeof result?.then === 'function' ? result.then(textify) : result;
  }
}

/**
 * adapter-pg 6.19 runs a migration script by splitting it on every ";", which breaks function bodies and
 * comments holding one. Prisma's native engine sends the script whole; so does this adapter's override.
 */
function sendScriptsWhole(factory) {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    adapter.executeScript = async (script) => {
      try {
        await adapter.client.query(script);
      } catch (error) {
        adapter.onError(error);
      }
    };
    return adapter;
  };
  return factory;
}

module.exports = defineConfig({
  schema: process.env.WEBRANA_PRISMA6_SCHEMA,
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () =>
    sendScriptsWhole(
      new PrismaPg(
        new pg.Pool({
          connectionString: process.env.DATABASE_URL,
          Client: CatalogFriendlyClient,
          allowExitOnIdle: true,
          idleTimeoutMillis: 100,
        }),
      ),
    ),
});

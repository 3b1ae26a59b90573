// Prisma 6 CLI config for the WebAssembly schema engine over a pg driver adapter.
// Read by the Prisma 6 CLI that src/index.ts starts; the schema path and URL come from the environment.
'use strict';
const { defineConfig } = require('prisma6/config');
const { PrismaPg } = require('adapter-pg6');
const pg = require('pg');

// adapter-pg 6 cannot deserialize PostgreSQL's `name` (OID 19) and `"char"` (OID 18) catalog columns
// ("Column type 'name' could not be deserialized"); reporting them as text (OID 25) is lossless.
const TEXT_LIKE_OIDS = new Set([18, 19]);
class CatalogFriendlyClient extends pg.Client {
  query(config, values, callback) {
    const result = super.query(config, values, callback);
    if (result && typeof result.then === 'function') {
      return result.then((res) => {
        for (const field of res.fields ?? []) if (TEXT_LIKE_OIDS.has(field.dataTypeID)) field.dataTypeID = 25;
        return res;
      });
    }
    return result;
  }
}

module.exports = defineConfig({
  schema: process.env.WEBRANA_PRISMA6_SCHEMA,
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () =>
    new PrismaPg(
      new pg.Pool({ connectionString: process.env.DATABASE_URL, Client: CatalogFriendlyClient, allowExitOnIdle: true }),
    ),
});

import { postgresUnavailable, tempSchema } from '../support/postgres.js';
import { outboxConformance } from './conformance.js';

// Skipped (with the reason) only when no PostgreSQL server is reachable and CI is not set; under CI it fails.
const skip = await postgresUnavailable();
const schemas: Array<{ drop(): Promise<void> }> = [];

outboxConformance({
  name: 'PostgreSQL',
  skip,
  async location() {
    const schema = tempSchema();
    schemas.push(schema);
    return schema.url;
  },
  async cleanup() {
    await Promise.all(schemas.map((schema) => schema.drop()));
  },
});

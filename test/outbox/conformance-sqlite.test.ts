import { outboxConformance } from './conformance.js';
import { tempDb } from './helpers.js';

outboxConformance({ name: 'SQLite', location: async () => tempDb() });

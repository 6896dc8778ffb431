import { QdrantClient } from '@qdrant/js-client-rest';
import { it } from 'node:test';
import { QdrantVectorStore } from '../src/index.js';
import { runVectorStoreContract } from './contract.js';

const url = process.env['QDRANT_URL'];
const apiKey = process.env['QDRANT_API_KEY'];

if (!url) {
  it('VectorStore contract: Qdrant', { skip: 'QDRANT_URL is not set (no Qdrant server on this machine); set it to run the contract against Qdrant' }, () => {});
} else {
  const admin = new QdrantClient({ url, ...(apiKey ? { apiKey } : {}), checkCompatibility: false });
  runVectorStoreContract('Qdrant', {
    open: async () => new QdrantVectorStore({ url, ...(apiKey ? { apiKey } : {}) }),
    cleanup: async (prefix) => {
      const { aliases } = await admin.getAliases();
      const mine = aliases.filter((a) => a.alias_name.startsWith(prefix));
      if (mine.length > 0) {
        await admin.updateCollectionAliases({ actions: mine.map((a) => ({ delete_alias: { alias_name: a.alias_name } })) });
      }
      const { collections } = await admin.getCollections();
      for (const c of collections.filter((c) => c.name.startsWith(prefix))) await admin.deleteCollection(c.name);
    },
  });
}

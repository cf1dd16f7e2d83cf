import { Schema, type Connection, type Model } from 'mongoose';
import { ROLES, type Role } from './apiKey';

/** One stored API key: never the secret, only its SHA-256. */
export interface ApiKeyRecord {
  /** The key id (hex), also the first part of the key the client sends. */
  _id: string;
  /** SHA-256 of the secret part. */
  secretDigest: Buffer;
  role: Role;
  /** The seller a SELLER key is bound to (absent for other roles). */
  sellerId?: string | null;
  label?: string | null;
  createdAt: Date;
  /** Set once revoked; a revoked key authenticates nothing (within the cache TTL). */
  revokedAt?: Date | null;
}

/** The `api_keys` collection behind small functions; policy lives in `AuthService`. */
export interface ApiKeyRepository {
  /** The key with this id, revoked or not; null when there is none. */
  findById(id: string): Promise<ApiKeyRecord | null>;
  insert(record: ApiKeyRecord): Promise<void>;
  /** Marks the key revoked (keeps the first revocation time); false when no such key. */
  revoke(id: string, at: Date): Promise<boolean>;
  /** Every key, newest first (without digests). */
  list(): Promise<Array<Omit<ApiKeyRecord, 'secretDigest'>>>;
}

const apiKeySchema = new Schema<ApiKeyRecord>(
  {
    _id: { type: String, required: true },
    secretDigest: { type: Buffer, required: true },
    role: { type: String, enum: ROLES, required: true },
    sellerId: { type: String, default: null },
    label: { type: String, default: null },
    createdAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
  },
  { collection: 'api_keys', versionKey: false },
);

/** Creates the repository on a connection (lookups are by `_id`, so no extra index is needed). */
export function createApiKeyRepository(connection: Connection): ApiKeyRepository {
  const model: Model<ApiKeyRecord> =
    (connection.models.ApiKey as Model<ApiKeyRecord> | undefined) ??
    connection.model<ApiKeyRecord>('ApiKey', apiKeySchema);
  return {
    findById: async (id) => {
      const doc = await model.findById(id).lean<ApiKeyRecord>().exec();
      if (!doc) return null;
      // lean() returns BSON Binary for Buffer fields on some drivers; normalise to a Buffer.
      const raw = doc.secretDigest as unknown as Buffer | { buffer: Uint8Array };
      return { ...doc, secretDigest: Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer) };
    },
    insert: async (record) => {
      await model.create(record);
    },
    revoke: async (id, at) => {
      const existing = await model.findById(id, { _id: 1 }).lean().exec();
      if (!existing) return false;
      await model.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: at } }).exec();
      return true;
    },
    list: async () =>
      model.find({}, { secretDigest: 0 }).sort({ createdAt: -1 }).lean<Omit<ApiKeyRecord, 'secretDigest'>[]>().exec(),
  };
}

/**
 * The forecast model registry: per target (a node or a district) which fitted model is the champion,
 * which runs as the shadow challenger, where a rollback goes, when it was last trained — small
 * documents changed by a transaction (compare and set), in Firestore in the cloud and in-process
 * locally. The fitted models themselves are plain data in PostgreSQL (`forecast_models`); the
 * registry only names them. A document changes when a target is trained, promoted, rolled back or
 * scored (at most a few times a day per target), far below Firestore's one write per second.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { RegistryState } from '../../forecast/registry-policy.ts';

export interface RegistryRecord {
  tenantId: string;
  targetId: string;
  targetKind: 'node' | 'district';
  state: RegistryState;
  /** Mean flow over the training data's last four weeks, to tell a level shift (drift). */
  trainingMean: number | null;
  /** The last slot at which the policy was consulted, ms. */
  lastDecisionMs: number;
  /** Why the last change was made, for logs and /status. */
  reasons: string[];
}

export interface ModelRegistry {
  readonly name: 'memory' | 'firestore';
  get(tenantId: string, targetId: string): Promise<RegistryRecord | null>;
  /**
   * Reads the target's record and writes what `change` returns, atomically: a concurrent change makes
   * it run again on the newer record. Returning null leaves the record as it is.
   */
  update(
    tenantId: string,
    targetId: string,
    change: (current: RegistryRecord | null) => RegistryRecord | null,
  ): Promise<RegistryRecord | null>;
  close(): Promise<void>;
}

const docId = (tenantId: string, targetId: string) =>
  encodeURIComponent(`${tenantId}:${targetId}`).replaceAll('.', '%2E');

/** Firestore keeps no `undefined`: optional entries are dropped on the way in, and come back absent. */
const plain = (record: RegistryRecord): RegistryRecord => JSON.parse(JSON.stringify(record));

export class MemoryModelRegistry implements ModelRegistry {
  readonly name = 'memory' as const;
  private readonly records = new Map<string, RegistryRecord>();

  async get(tenantId: string, targetId: string): Promise<RegistryRecord | null> {
    const r = this.records.get(docId(tenantId, targetId));
    return r ? plain(r) : null;
  }

  async update(
    tenantId: string,
    targetId: string,
    change: (current: RegistryRecord | null) => RegistryRecord | null,
  ): Promise<RegistryRecord | null> {
    // Synchronous between the read and the write: nothing else runs in between in one process.
    const id = docId(tenantId, targetId);
    const current = this.records.get(id);
    const next = change(current ? plain(current) : null);
    if (next === null) return current ? plain(current) : null;
    this.records.set(id, plain(next));
    return plain(next);
  }

  async close(): Promise<void> {}
}

export class FirestoreModelRegistry implements ModelRegistry {
  readonly name = 'firestore' as const;
  readonly db: Firestore;
  private readonly collection: string;

  constructor(options: { db: Firestore; collection?: string }) {
    this.db = options.db;
    this.collection = options.collection ?? 'forecastRegistry';
  }

  private ref(tenantId: string, targetId: string) {
    return this.db.collection(this.collection).doc(docId(tenantId, targetId));
  }

  async get(tenantId: string, targetId: string): Promise<RegistryRecord | null> {
    const snap = await this.ref(tenantId, targetId).get();
    return snap.exists ? (snap.data() as RegistryRecord) : null;
  }

  async update(
    tenantId: string,
    targetId: string,
    change: (current: RegistryRecord | null) => RegistryRecord | null,
  ): Promise<RegistryRecord | null> {
    const ref = this.ref(tenantId, targetId);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const current = snap.exists ? (snap.data() as RegistryRecord) : null;
      const next = change(current);
      if (next === null) return current;
      tx.set(ref, plain(next));
      return plain(next);
    });
  }

  async close(): Promise<void> {}
}

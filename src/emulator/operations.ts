/**
 * What each Vero operation does to the stored state. Runs inside the store's per-request transaction.
 *
 * Identity follows Vero's default stitching rule: a profile is found by `id` only. A request that names only an
 * email addresses the profile whose id is that email (creating it), never a profile with another id that happens
 * to carry the same email (help.getvero.com, "Identity stitching and resolution": "By default, Vero only stitches on
 * the id").
 */
import type { Params } from './body.js';
import type { EmulatorStore, UserRow } from './store.js';
import type { Operation, UserRef } from './validate.js';

export function applyOperation(store: EmulatorStore, op: Operation, now: string): void {
  switch (op.kind) {
    case 'identify': {
      const row = findOrCreate(store, op.ref, now);
      const data = { ...JSON.parse(row.data), ...op.data };
      store.updateUser({
        ...row,
        email: op.ref.email ?? row.email,
        data: JSON.stringify(data),
        updated_at: now,
      });
      return;
    }
    case 'edit': {
      const row = findOrCreate(store, op.ref, now);
      const { email, ...rest } = op.changes;
      const data = { ...JSON.parse(row.data), ...rest };
      const newEmail = typeof email === 'string' ? email : row.email;
      store.updateUser({ ...row, email: newEmail, data: JSON.stringify(data), updated_at: now });
      return;
    }
    case 'tags': {
      const row = findOrCreate(store, op.ref, now);
      const tags: string[] = JSON.parse(row.tags);
      for (const tag of op.add) if (!tags.includes(tag)) tags.push(tag);
      const kept = tags.filter((tag) => !op.remove.includes(tag));
      store.updateUser({ ...row, tags: JSON.stringify(kept), updated_at: now });
      return;
    }
    case 'unsubscribe':
    case 'resubscribe': {
      const row = findOrCreate(store, op.ref, now);
      store.updateUser({ ...row, unsubscribed: op.kind === 'unsubscribe' ? 1 : 0, updated_at: now });
      return;
    }
    case 'reidentify': {
      const row = store.userById(op.id);
      if (row === undefined || op.id === op.newId) return; // Vero answers 200 for unknown users too
      const target = store.userById(op.newId);
      if (target === undefined) {
        store.updateUser({ ...row, id: op.newId, updated_at: now });
        return;
      }
      // The new id already exists: merge the old profile into it (its own values win), as Vero's alias merges.
      const tags: string[] = JSON.parse(target.tags);
      for (const tag of JSON.parse(row.tags) as string[]) if (!tags.includes(tag)) tags.push(tag);
      store.deleteUser(row.seq);
      store.updateUser({
        ...target,
        email: target.email ?? row.email,
        data: JSON.stringify({ ...JSON.parse(row.data), ...JSON.parse(target.data) }),
        tags: JSON.stringify(tags),
        updated_at: now,
      });
      return;
    }
    case 'delete': {
      const row = find(store, op.ref);
      if (row !== undefined) store.deleteUser(row.seq);
      return;
    }
    case 'event': {
      store.ensureUser(profileIdOf(op.identity), op.identity.email, now);
      store.insertEvent({
        identity: op.identity,
        event_name: op.eventName,
        data: op.data,
        extras: op.extras,
        received_at: now,
      });
      return;
    }
    case 'heartbeat':
      return;
  }
}

/** The profile id a request addresses: its id, or (named only by email) the email itself. */
export function profileIdOf(ref: UserRef): string {
  return ref.id ?? (ref.email as string);
}

function find(store: EmulatorStore, ref: UserRef): UserRow | undefined {
  return store.userById(profileIdOf(ref));
}

function findOrCreate(store: EmulatorStore, ref: UserRef, now: string): UserRow {
  const existing = find(store, ref);
  if (existing !== undefined) return existing;
  const id = profileIdOf(ref);
  const empty: Params = {};
  store.insertUser({
    id,
    email: ref.email ?? null,
    data: JSON.stringify(empty),
    tags: '[]',
    unsubscribed: 0,
    created_at: now,
    updated_at: now,
  });
  return store.userById(id) as UserRow;
}

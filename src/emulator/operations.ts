/**
 * What each Vero operation does to the stored state. Runs inside the store's per-request transaction; `now` is the
 * request's time in epoch milliseconds. Records are replaced whole (store.saveUser), never changed in place.
 *
 * Identity follows Vero's default stitching rule: a profile is found by `id` only. A request that names only an
 * email addresses the profile whose id is that email (creating it), never a profile with another id that happens
 * to carry the same email (help.getvero.com, "Identity stitching and resolution": "By default, Vero only stitches on
 * the id").
 */
import type { StoredUser } from './records.js';
import type { EmulatorStore } from './store.js';
import { type Operation, profileIdOf, type UserRef } from './validate.js';

export function applyOperation(store: EmulatorStore, op: Operation, now: number): void {
  switch (op.kind) {
    case 'identify': {
      const user = findOrNew(store, op.ref, now);
      store.saveUser({
        ...user,
        email: op.ref.email ?? user.email,
        data: { ...user.data, ...op.data },
        updatedAt: now,
      });
      return;
    }
    case 'edit': {
      const user = findOrNew(store, op.ref, now);
      const { email, ...rest } = op.changes;
      store.saveUser({
        ...user,
        email: typeof email === 'string' ? email : user.email,
        data: { ...user.data, ...rest },
        updatedAt: now,
      });
      return;
    }
    case 'tags': {
      const user = findOrNew(store, op.ref, now);
      const tags = withTags(user.tags, op.add).filter((tag) => !op.remove.includes(tag));
      store.saveUser({ ...user, tags, updatedAt: now });
      return;
    }
    case 'unsubscribe':
    case 'resubscribe': {
      const user = findOrNew(store, op.ref, now);
      store.saveUser({ ...user, unsubscribed: op.kind === 'unsubscribe', updatedAt: now });
      return;
    }
    case 'reidentify': {
      const user = store.userById(op.id);
      if (user === undefined || op.id === op.newId) return; // Vero answers 200 for unknown users too
      const target = store.userById(op.newId);
      if (target === undefined) {
        store.saveUser({ ...user, id: op.newId, updatedAt: now });
        return;
      }
      // The new id already exists: merge the old profile into it (its own values win), as Vero's alias merges.
      store.deleteUser(user);
      store.saveUser({
        ...target,
        email: target.email ?? user.email,
        data: { ...user.data, ...target.data },
        tags: withTags(target.tags, user.tags),
        updatedAt: now,
      });
      return;
    }
    case 'delete': {
      const user = store.userById(profileIdOf(op.ref));
      if (user !== undefined) store.deleteUser(user);
      return;
    }
    case 'event': {
      // The event's profile is created when missing, and takes the email sent with it.
      const id = profileIdOf(op.identity);
      const email = op.identity.email;
      const user = store.userById(id);
      if (user === undefined) store.saveUser(store.newUser(id, email ?? null, now));
      else if (email !== undefined && email !== user.email)
        store.saveUser({ ...user, email, updatedAt: now });
      store.addEvent({
        identity: op.identity,
        eventName: op.eventName,
        data: op.data,
        extras: op.extras,
        receivedAt: now,
      });
      return;
    }
    case 'heartbeat':
      return;
  }
}

/** The profile a request addresses, or a new one (stored by the caller's saveUser) carrying its email. */
function findOrNew(store: EmulatorStore, ref: UserRef, now: number): StoredUser {
  const id = profileIdOf(ref);
  return store.userById(id) ?? store.newUser(id, ref.email ?? null, now);
}

/** `tags` followed by each of `added` it lacks, in order. */
function withTags(tags: readonly string[], added: readonly string[]): string[] {
  const out = [...tags];
  for (const tag of added) if (!out.includes(tag)) out.push(tag);
  return out;
}

import type { VeroClient } from '../../clients/vero/client.js';
import { isValidEmail } from '../../clients/vero/validate.js';
import type { IntegrationFunction, ReadFunction, WriteFunction } from '../definition.js';
import { describeCurrentUser } from './current-user.js';
import type { VeroPlan } from './plan.js';
import {
  addTagsSchema,
  aliasUserSchema,
  deleteUserSchema,
  getCurrentUserSchema,
  identifyUserSchema,
  removeTagsSchema,
  resubscribeSchema,
  trackEventSchema,
  unsubscribeSchema,
  updateUserSchema,
} from './schemas.js';

const identifyUser: WriteFunction<typeof identifyUserSchema, VeroPlan> = {
  name: 'identify_user',
  description: 'Identify (create or update) a user in Vero with email, name, and custom attributes.',
  toolDescription:
    "Identify (create or update) a user in Vero. Pass a unique user ID, email, optional name, and any custom attributes in the data object. This creates the user if they don't exist, or updates their profile if they do.",
  operation: 'write',
  idempotent: true,
  schema: identifyUserSchema,
  example: `app.integrations.vero.identify_user({
  id = "usr_123",
  email = "john@example.com",
  name = "John Doe",
  data = {
    plan = "premium",
    signup_date = "2025-01-15",
    company = "Acme Inc"
  }
})`,
  plan: ({ id, email, name, data }) => ({
    operation: 'identify',
    input: { id, email, data: name === undefined ? { ...data } : { ...data, name } },
    subject: { id, email },
    // Also the email: a later write naming the user by email must not reach Vero before the profile exists.
    orderingKeys: [id, email],
  }),
};

const trackEvent: WriteFunction<typeof trackEventSchema, VeroPlan> = {
  name: 'track_event',
  description: 'Track a behavioral event for a user. Events can trigger automated email campaigns in Vero.',
  toolDescription:
    "Track a behavioral event for a user in Vero. Events can trigger automated email campaigns. Pass a user identity (ID or email), event name, and optional event data. Vero matches users by ID only: an email identity reaches the profile whose ID is that email (creating it), not a user identified by an ID who has that email, so pass the user's ID to reach them. The event carries the time of the call (extras.created_at) unless you give one.",
  operation: 'write',
  schema: trackEventSchema,
  extraParameters: ['extras'],
  caveats: [
    'Vero matches users by id only: an email `identity` reaches the profile whose id is that email (creating it), not a user identified by an id who has that email. Pass the id you gave `identify_user`.',
    'The event carries `extras.created_at`, the time of the call (ISO 8601, UTC), also when it is queued or retried; pass `extras = { created_at = "..." }` for another time.',
    'Vero drops the same event (same name, user and `data`) sent again within 5 minutes as a duplicate.',
  ],
  example: `app.integrations.vero.track_event({
  identity = "usr_123",
  event_name = "Purchased",
  data = {
    product = "Widget",
    price = 29.99,
    currency = "USD"
  }
})`,
  plan: ({ identity, event_name, data, extras }, { now }): VeroPlan => {
    const byEmail = isValidEmail(identity);
    return {
      operation: 'trackEvent',
      input: {
        identity: byEmail ? { email: identity } : { id: identity },
        eventName: event_name,
        data: { ...data },
        // The time of the call, fixed in the plan: a queued, retried or late-drained event keeps it.
        extras: {
          createdAt: extras?.created_at ?? now.toISOString(),
          ...(extras?.source === undefined ? {} : { source: extras.source }),
        },
      },
      subject: byEmail ? { email: identity, event_name } : { id: identity, event_name },
      orderingKeys: [identity],
    };
  },
};

const updateUser: WriteFunction<typeof updateUserSchema, VeroPlan> = {
  name: 'update_user',
  description: "Update a user's email address and/or custom attributes in Vero.",
  toolDescription:
    "Update a user's profile in Vero. Pass the user ID, an optional new email, and a data object with attributes to update.",
  operation: 'write',
  idempotent: true,
  schema: updateUserSchema,
  example: `app.integrations.vero.update_user({
  id = "usr_123",
  email = "john.doe@example.com",
  data = {
    plan = "enterprise",
    company = "Big Corp"
  }
})`,
  plan: ({ id, email, data }) => ({
    operation: 'editUser',
    input: { id, changes: email === undefined ? { ...data } : { ...data, email } },
    subject: { id },
    orderingKeys: email === undefined ? [id] : [id, email],
  }),
};

const subscriptionChange = (
  name: 'unsubscribe' | 'resubscribe',
  schema: typeof unsubscribeSchema,
  description: string,
  toolDescription: string,
): WriteFunction<typeof unsubscribeSchema, VeroPlan> => ({
  name,
  description,
  toolDescription,
  operation: 'write',
  idempotent: true,
  schema,
  example: `app.integrations.vero.${name}({
  id = "usr_123"
})`,
  caveats: [
    'Vero drops a request identical to one received within 5 minutes: unsubscribe, resubscribe, unsubscribe for one user inside that window leaves the user subscribed (the third call returns `status = "duplicate"`).',
  ],
  plan: ({ id }) => ({ operation: name, input: { id }, subject: { id }, orderingKeys: [id] }),
});

const getCurrentUser: ReadFunction<typeof getCurrentUserSchema, VeroClient> = {
  name: 'get_current_user',
  description:
    'Get the profile of the currently authenticated Vero user. Useful for verifying API connectivity.',
  toolDescription:
    "Get the profile of the configured Vero account and check API connectivity. Vero's Track API cannot say who a credential belongs to, so the profile comes from local configuration (account name, email, base URL, a masked credential hint) plus a live heartbeat.",
  operation: 'read',
  idempotent: true,
  schema: getCurrentUserSchema,
  example: `local user = app.integrations.vero.get_current_user({})
print("Account: " .. (user.email or "unknown"))`,
  read: (_args, context) => describeCurrentUser(context),
  preview: (_args, { client }) => client.prepare('heartbeat'),
};

const aliasUser: WriteFunction<typeof aliasUserSchema, VeroPlan> = {
  name: 'alias_user',
  description:
    "Change a user's unique identifier (Vero's re-identify); attributes, tags and events are kept.",
  operation: 'write',
  extra: true,
  idempotent: true,
  schema: aliasUserSchema,
  example: `app.integrations.vero.alias_user({
  id = "anon_42",
  new_id = "usr_123"
})`,
  plan: ({ id, new_id }) => ({
    operation: 'reidentify',
    input: { id, newId: new_id },
    subject: { id, new_id },
    // Also the new id: later writes naming it must wait until Vero knows it.
    orderingKeys: [id, new_id],
  }),
};

const deleteUser: WriteFunction<typeof deleteUserSchema, VeroPlan> = {
  name: 'delete_user',
  description: 'Delete a user and their data from Vero permanently. This cannot be undone.',
  operation: 'write',
  extra: true,
  destructive: true,
  idempotent: true,
  schema: deleteUserSchema,
  example: `app.integrations.vero.delete_user({
  id = "usr_123"
})`,
  plan: ({ id }) => ({ operation: 'deleteUser', input: { id }, subject: { id }, orderingKeys: [id] }),
};

const tagChange = (
  name: 'add_tags' | 'remove_tags',
  schema: typeof addTagsSchema,
  description: string,
): WriteFunction<typeof addTagsSchema, VeroPlan> => ({
  name,
  description,
  operation: 'write',
  extra: true,
  idempotent: true,
  schema,
  example: `app.integrations.vero.${name}({
  id = "usr_123",
  tags = { "beta", "vip" }
})`,
  plan: ({ id, tags }) => ({
    operation: 'editTags',
    input: name === 'add_tags' ? { id, add: tags } : { id, remove: tags },
    subject: { id },
    orderingKeys: [id],
  }),
});

export const veroFunctions: Array<IntegrationFunction<VeroClient, VeroPlan>> = [
  identifyUser,
  trackEvent,
  updateUser,
  subscriptionChange(
    'unsubscribe',
    unsubscribeSchema,
    'Unsubscribe a user from all Vero email campaigns.',
    'Unsubscribe a user from all Vero email campaigns. The user will no longer receive any email communication.',
  ),
  subscriptionChange(
    'resubscribe',
    resubscribeSchema,
    'Resubscribe a previously unsubscribed user to Vero email campaigns.',
    'Resubscribe a previously unsubscribed user to Vero email campaigns. The user will start receiving emails again.',
  ),
  getCurrentUser,
  aliasUser,
  deleteUser,
  tagChange('add_tags', addTagsSchema, 'Add tags to a user in Vero (tags already present are kept once).'),
  tagChange('remove_tags', removeTagsSchema, 'Remove tags from a user in Vero (absent tags are ignored).'),
];

import * as z from 'zod';
import { isValidEmail, MAX_FIELD_LENGTH as MAX_LENGTH } from '../../clients/vero/validate.js';

// Vero treats a blank identifier as missing; checked here so that a queued write is never accepted to fail later.
const text = () =>
  z
    .string()
    .min(1, { abort: true })
    .max(MAX_LENGTH)
    .refine((value) => value.trim() !== '', { message: 'must not be only spaces' });

const userId = (description: string) => text().describe(description);
const email = (description: string) =>
  z.string().max(MAX_LENGTH).refine(isValidEmail, { message: 'invalid email address' }).describe(description);
const attributes = (description: string) => z.record(z.string(), z.unknown()).describe(description);
const tagList = (description: string) => z.array(text()).describe(description);

export const identifyUserSchema = z.strictObject({
  id: userId('Unique user identifier (e.g., database ID or UUID)'),
  email: email('User email address'),
  name: z.string().max(MAX_LENGTH).optional().describe('Display name for the user'),
  data: attributes('Custom user attributes as key-value pairs').optional(),
});

// The same rule the wire client applies to extras.createdAt, checked here so a queued event cannot fail later.
const isoDateTime = z
  .string()
  .max(MAX_LENGTH)
  .refine((value) => ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)), {
    message: 'must be an ISO 8601 date-time, e.g. "2025-06-15T10:30:00Z"',
  });
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

export const trackEventSchema = z.strictObject({
  identity: text().describe('User ID or email address identifying the user'),
  event_name: text().describe('Name of the event (e.g., "Logged in", "Purchased")'),
  data: attributes('Event-specific data as key-value pairs').optional(),
  extras: z
    .strictObject({
      created_at: isoDateTime
        .optional()
        .describe('When the event happened (ISO 8601); default: the moment of the call'),
      source: z.string().max(MAX_LENGTH).optional().describe('Where the event came from, e.g. "import"'),
    })
    .optional()
    .describe(
      "Vero's reserved event fields: `created_at` (ISO 8601; default: the moment of the call) and `source`",
    ),
});

export const updateUserSchema = z
  .strictObject({
    id: userId('Unique user identifier to update'),
    email: email('New email address for the user').optional(),
    data: attributes('Attributes to update as key-value pairs').optional(),
  })
  .refine(
    (args) => args.email !== undefined || (args.data !== undefined && Object.keys(args.data).length > 0),
    {
      message: 'give email or a non-empty data table (or both): there is nothing to update',
    },
  );

export const unsubscribeSchema = z.strictObject({ id: userId('Unique user identifier to unsubscribe') });
export const resubscribeSchema = z.strictObject({ id: userId('Unique user identifier to resubscribe') });
export const getCurrentUserSchema = z.strictObject({});

export const aliasUserSchema = z.strictObject({
  id: userId('Current unique user identifier'),
  new_id: userId('New unique user identifier; the user keeps its attributes, tags and events'),
});
export const deleteUserSchema = z.strictObject({
  id: userId('Unique user identifier to delete permanently'),
});
export const addTagsSchema = z.strictObject({
  id: userId('Unique user identifier to tag'),
  tags: tagList('Tags to add to the user').min(1),
});
export const removeTagsSchema = z.strictObject({
  id: userId('Unique user identifier to untag'),
  tags: tagList('Tags to remove from the user').min(1),
});

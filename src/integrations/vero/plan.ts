import type { VeroClient } from '../../clients/vero/client.js';
import type {
  PreparedRequest,
  VeroInputs,
  VeroResult,
  VeroWriteOperation,
} from '../../clients/vero/operations.js';
import type { WritePlan } from '../definition.js';

/** A Vero write: one member per client operation, so the operation fixes the type of the input. */
export type VeroPlan = { [Op in VeroWriteOperation]: WritePlan<Op, VeroInputs[Op]> }[VeroWriteOperation];

type Senders = {
  [Op in VeroWriteOperation]: (client: VeroClient, input: VeroInputs[Op]) => Promise<VeroResult>;
};

/** The client method each operation names. */
const SENDERS: Senders = {
  identify: (client, input) => client.identify(input),
  editUser: (client, input) => client.editUser(input),
  editTags: (client, input) => client.editTags(input),
  unsubscribe: (client, input) => client.unsubscribe(input),
  resubscribe: (client, input) => client.resubscribe(input),
  reidentify: (client, input) => client.reidentify(input),
  deleteUser: (client, input) => client.deleteUser(input),
  trackEvent: (client, input) => client.trackEvent(input),
};

export function sendPlan<Op extends VeroWriteOperation>(
  client: VeroClient,
  plan: WritePlan<Op, VeroInputs[Op]>,
): Promise<VeroResult> {
  const send: Senders[Op] = SENDERS[plan.operation];
  return send(client, plan.input);
}

/** The exact request a plan turns into, credential redacted (the client validates it as it would to send). */
export function previewPlan<Op extends VeroWriteOperation>(
  client: VeroClient,
  plan: WritePlan<Op, VeroInputs[Op]>,
): PreparedRequest {
  return client.prepare(plan.operation, plan.input);
}

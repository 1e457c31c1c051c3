import { redactValue } from '../secrets.js';

export type CallStatus = 'sent' | 'duplicate' | 'queued' | 'dry_run' | 'ok' | 'error';

export interface CallRecord {
  seq: number;
  function_name: string;
  account: string | null;
  args: unknown;
  status: CallStatus;
  error?: { code: string; message: string };
  duration_ms: number;
  started_at: string;
  /** The outbox row of a queued write. */
  outbox_id?: number;
  /** What a dry-run write would have sent, its credential redacted. */
  request?: unknown;
}

/** A bounded, in-memory record of every call, with credentials removed from what is kept. */
export class CallLog {
  private readonly records: CallRecord[] = [];
  private seq = 0;

  constructor(
    /** Every configured credential; accounts are resolved once per runtime, so the list is fixed. */
    private readonly secrets: readonly string[],
    private readonly capacity = 1000,
  ) {}

  get lastSeq(): number {
    return this.seq;
  }

  record(entry: Omit<CallRecord, 'seq'>): CallRecord {
    // Not `{ ...entry, seq, args }`: V8 (Node 20) moves objects built as a spread followed by more properties to
    // the old generation, so every call (an import's every row) left garbage there for a major GC.
    const record: CallRecord = Object.assign({}, entry, {
      seq: ++this.seq,
      args: redactValue(entry.args, this.secrets),
    });
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.shift();
    return record;
  }

  /** Calls recorded after `afterSeq` (all when omitted). */
  entries(afterSeq = 0): CallRecord[] {
    return this.records.filter((record) => record.seq > afterSeq);
  }
}

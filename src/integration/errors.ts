import { KosmoError } from '../errors.js';

export interface ArgumentProblem {
  /** Dotted path of the field, '' for the arguments as a whole. */
  field: string;
  rule: string;
}

/** Arguments that break a function's schema; nothing was sent. */
export class InvalidArgumentsError extends KosmoError {
  readonly fullName: string;
  readonly problems: ArgumentProblem[];

  constructor(fullName: string, problems: ArgumentProblem[]) {
    const text = problems.map(({ field, rule }) => (field ? `${field}: ${rule}` : rule)).join('; ');
    super('invalid_arguments', `${fullName}: ${text}`);
    this.fullName = fullName;
    this.problems = problems;
  }
}

export class UnknownFunctionError extends KosmoError {
  constructor(message: string) {
    super('unknown_function', message);
  }
}

export class UnknownAccountError extends KosmoError {
  constructor(message: string) {
    super('unknown_account', message);
  }
}

export class MissingCredentialError extends KosmoError {
  constructor(message: string) {
    super('missing_credential', message);
  }
}

export class PermissionDeniedError extends KosmoError {
  constructor(message: string) {
    super('permission_denied', message);
  }
}

export class UnknownDocPageError extends KosmoError {
  constructor(message: string) {
    super('unknown_doc_page', message);
  }
}

export class ConfigError extends KosmoError {
  constructor(message: string) {
    super('invalid_config', message);
  }
}

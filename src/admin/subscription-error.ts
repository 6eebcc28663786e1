/** One invalid field of an admin request: `path` as zod gives it (`['signature', 'secret']`). */
export interface SubscriptionFieldError {
  path: readonly PropertyKey[];
  message: string;
}

/**
 * Why a subscription action was refused, as a value the HTTP layer turns into problem+json:
 * `invalid` 400 (with every field), `not_found` 404, `conflict` 409. The core never imports the
 * HTTP layer, so it cannot throw its AppError itself.
 */
export class SubscriptionError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not_found' | 'conflict',
    readonly detail: string,
    readonly errors: SubscriptionFieldError[] = [],
  ) {
    super(detail);
  }
}

/** 404 for a subscription id neither the config nor the API declares. */
export const unknownSubscription = (id: string) => new SubscriptionError('not_found', `no subscription '${id}'`);

/** 409 for a change only API subscriptions accept. */
export const declaredInConfig = (id: string, what: string) =>
  new SubscriptionError('conflict', `subscription '${id}' is declared in the config file; ${what}`);

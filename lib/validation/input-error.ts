// Errors in operator input (configuration, event payloads): one line per problem, each naming its field.

export class InputError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

// Errors that end one retention rule without ending the run.

/** The rule cannot run safely as configured (missing key or index, cascading children…); nothing was changed. */
export class RuleRefusedError extends Error {
  override readonly name = 'RuleRefusedError';
}

/** The three counts of an archive chunk disagreed (a concurrent writer); the chunk was rolled back and is retried. */
export class ChunkCountMismatchError extends Error {
  override readonly name = 'ChunkCountMismatchError';
}

/** An archive chunk's copy does not read back as the source rows did (a trigger, a conversion); rolled back, not retried. */
export class ChunkContentMismatchError extends Error {
  override readonly name = 'ChunkContentMismatchError';
}

/** A model folder that cannot be opened: one line per problem, each naming the file (and the field) and what to do. */
export class PackageError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

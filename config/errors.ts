/** Raised for invalid configs; carries one line per problem. (No imports: the proxy and model schemas use it without a cycle.) */
export class ConfigError extends Error {
  constructor(
    readonly configName: string,
    readonly problems: string[],
  ) {
    super(`Invalid config "${configName}":\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

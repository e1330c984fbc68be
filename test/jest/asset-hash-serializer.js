// Jest snapshot serializer: replaces CDK asset hashes (64 hex characters) with
// <asset-hash>, so a snapshot changes only when a template really changes.
const HASH = /[0-9a-f]{64}/g;
module.exports = {
  test: (value) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value, config, indentation, depth, refs, printer) => printer(value.replace(HASH, '<asset-hash>'), config, indentation, depth, refs),
};

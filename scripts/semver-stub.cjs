// Stands in for `semver` where Fastify requires it (lib/plugin-utils.js) in the Lambda bundle.
// Fastify uses it for one check: that each plugin registered supports this Fastify version. The
// build has already registered the same plugins on the same Fastify with the real semver
// (scripts/compile-schemas.ts boots the app), and failed if any did not, so in the bundle the
// answer is known: every range is satisfied. Saves ~28 KiB of the cold path.
module.exports = {
  satisfies: () => true,
  gt: () => false,
  coerce: (version) => version
}

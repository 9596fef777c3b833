// Stands in for the `yaml` package in the Lambda bundle. @fastify/swagger requires it at load
// time for YAML output, which paylith never serves (only /openapi.json); leaving it out saves
// ~110 KB of bundle to parse at every cold start.
const unavailable = () => { throw new Error('YAML output is not part of the paylith bundle; use /openapi.json') }
module.exports = { parse: unavailable, stringify: unavailable }

// Stands in for @fastify/ajv-compiler and @fastify/fast-json-stringify-compiler in the Lambda
// bundle: Fastify loads them only when an app brings no compilers of its own, and paylith's
// app brings both (compiled at build time, scripts/compile-schemas.ts). Leaving them out keeps
// Ajv and fast-json-stringify's compiler off the cold path.
const unavailable = () => { throw new Error('Fastify\'s default schema compilers are not part of the paylith bundle: the app passes its own') }
module.exports = unavailable
module.exports.default = unavailable
module.exports.SerializerSelector = unavailable
module.exports.StandaloneSerializer = unavailable
module.exports.StandaloneValidator = unavailable

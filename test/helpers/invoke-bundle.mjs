// Runs under another Node (Node 22): imports the bundle named by argv[2], invokes its handler
// with each event of the JSON array read from stdin, in order, and prints
// { node, results } as JSON on the last line (the metrics' lines come before it), each result { response } or { error: { name, message } }.
// The environment is the deployed function's, set by the test that spawns it.
import { text } from 'node:stream/consumers'

const events = JSON.parse(await text(process.stdin))
const { handler } = await import(process.argv[2])
const results = []
for (const [index, event] of events.entries()) {
  const context = { awsRequestId: `node22-${index}`, functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, getRemainingTimeInMillis: () => 30_000 }
  try {
    results.push({ response: await handler(event, context) })
  } catch (error) {
    results.push({ error: { name: error.name, message: error.message } })
  }
}
process.stdout.write(`\n${JSON.stringify({ node: process.version, results })}\n`)

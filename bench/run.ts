// `npm run bench`: every benchmark, one after the other, each printing its table.
await import('./idempotency.js')

/** What the startup banner shows about a local run. */
export interface BannerOptions {
  /** The URL the server listens on. */
  url: string
  /** The API key generated for this run, if one was. */
  apiKey?: string
  /** The Standard Webhooks secret generated for this run, if one was. */
  webhookSecret?: string
  /** The AWS endpoints in use, by what they serve (e.g. `{ aws: 'http://127.0.0.1:5000' }`). */
  endpoints: Record<string, string | undefined>
}

/** Quotes a value for a POSIX shell. */
function shellQuote (value: string): string {
  return `'${value.replace(/'/g, '\'\\\'\'')}'`
}

/**
 * The lines `npm start` prints on a terminal once it listens: where it is, its docs, the
 * generated credentials, the emulators, and one curl that creates a payment.
 */
export function startupBanner ({ url, apiKey, webhookSecret, endpoints }: BannerOptions): string[] {
  const key = apiKey ?? '<an API key from API_KEYS>'
  const body = JSON.stringify({ amount: 1999, currency: 'EUR', customerId: 'cus_local' })
  const lines = [
    `paylith is listening on ${url}`,
    `  API docs        ${url}/docs`
  ]
  if (apiKey !== undefined) lines.push(`  API key         ${apiKey}  (generated for this run, every scope)`)
  if (webhookSecret !== undefined) lines.push(`  webhook secret  ${webhookSecret}  (generated for this run; npm run webhook -- ... --secret <it>)`)
  for (const [name, endpoint] of Object.entries(endpoints)) {
    if (endpoint !== undefined) lines.push(`  ${`${name} endpoint`.padEnd(16)}${endpoint}`)
  }
  lines.push(
    '  create a payment:',
    `    curl -s ${url}/v1/payments -H ${shellQuote(`Authorization: Bearer ${key}`)} -H "Idempotency-Key: $(uuidgen || date +%s%N)" -H 'Content-Type: application/json' -d ${shellQuote(body)}`,
    ''
  )
  return lines
}

/** The one line for a port another process already listens on, and how to pick another. */
export function portInUseMessage (host: string, port: number): string {
  return `port ${port} on ${host} is already in use (another paylith?): stop it, or choose another port with PORT, e.g. PORT=${port === 0 ? 3001 : port + 1} npm start`
}

/** Whether an error is Node's "address already in use". */
export function isPortInUse (error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EADDRINUSE'
}

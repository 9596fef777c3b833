/** One HTTP request the load workload made, as the report and the invariant checks read it. */
export interface RequestRecord {
  /** The route template, e.g. `POST /v1/payments`, `GET /v1/payments/:id`, `POST /v1/webhooks/:provider`. */
  route: string
  /** When it started, epoch ms. */
  at: number
  /** How long it took, ms. */
  ms: number
  /** The HTTP status; 0 when there was no response (refused, reset, timed out). */
  status: number
  /** An error answer's problem type (its last path segment), or the network error's code. */
  error?: string
  /** The payment it created or read, when there is one. */
  paymentId?: string
  /** The Idempotency-Key it was sent with, when there is one. */
  idempotencyKey?: string
  /** The customer of the payment, when known. */
  customerId?: string
}

/** The paylith process under load: `npm start`'s server, against emulators started separately. */
export interface AppProcess {
  /** The server's base URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string
  /** An API key with every scope. */
  readonly apiKey: string
  /** The environment the process runs with (AWS endpoints, table and queue names, secrets). */
  readonly env: Readonly<Record<string, string>>
  /** Every JSON log line of every run of the process so far, in order. */
  lines: () => ReadonlyArray<Record<string, unknown>>
  /** kill -9, then start again on the same data; resolves once it answers /ready. */
  crashAndRestart: () => Promise<void>
  /** Stops it (SIGTERM, then SIGKILL after a bound). */
  stop: () => Promise<void>
}

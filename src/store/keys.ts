/**
 * Keys of the single table. Every item kind's `pk` starts with its kind and `#`, which is how
 * the stream worker tells them apart.
 */
export const Keys = {
  payment: (paymentId: string) => ({ pk: `PAYMENT#${paymentId}`, sk: 'PAYMENT' }),
  /** Status history: one item per version, so the sort key orders it and guards duplicates. */
  paymentEvent: (paymentId: string, version: number) => ({ pk: `PAYMENT#${paymentId}`, sk: `EVENT#${String(version).padStart(6, '0')}` }),
  paymentByCustomer: (customerId: string, createdAt: string, paymentId: string) => ({ gsi1pk: `CUSTOMER#${customerId}`, gsi1sk: `${createdAt}#${paymentId}` }),
  idempotency: (scope: string, key: string) => ({ pk: `IDEMPOTENCY#${scope}#${key}`, sk: 'IDEMPOTENCY' }),
  webhookEvent: (provider: string, eventId: string) => ({ pk: `WEBHOOK#${provider}#${eventId}`, sk: 'WEBHOOK' })
} as const

/** The `sk` prefix of status-history items. */
export const EVENT_SK_PREFIX = 'EVENT#'

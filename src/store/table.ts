const customerPayments = (customerId: string): string => `CUSTOMER#${customerId}`

/**
 * Keys of the single table. Every item kind's `pk` starts with its kind and `#`, which is how
 * the stream worker tells them apart.
 */
export const Keys = {
  payment: (paymentId: string) => ({ pk: `PAYMENT#${paymentId}`, sk: 'PAYMENT' }),
  /** Status history: one item per version, so the sort key orders it and guards duplicates. */
  paymentEvent: (paymentId: string, version: number) => ({ pk: `PAYMENT#${paymentId}`, sk: `EVENT#${String(version).padStart(6, '0')}` }),
  /** GSI1 partition of a customer's payments. */
  customerPayments,
  paymentByCustomer: (customerId: string, createdAt: string, paymentId: string) => ({ gsi1pk: customerPayments(customerId), gsi1sk: `${createdAt}#${paymentId}` }),
  /** GSI2, only while a payment is unsettled: by the day it was created (`2026-11-27`). */
  unsettledPayment: (createdAt: string, paymentId: string) => ({ gsi2pk: `UNSETTLED#${createdAt.slice(0, 10)}`, gsi2sk: `${createdAt}#${paymentId}` }),
  idempotency: (scope: string, key: string) => ({ pk: `IDEMPOTENCY#${scope}#${key}`, sk: 'IDEMPOTENCY' }),
  webhookEvent: (provider: string, eventId: string) => ({ pk: `WEBHOOK#${provider}#${eventId}`, sk: 'WEBHOOK' }),
  /** Which payment a provider reference belongs to. */
  providerRef: (providerRef: string) => ({ pk: `PROVIDERREF#${providerRef}`, sk: 'PROVIDERREF' }),
  customerSummary: (customerId: string) => ({ pk: `CUSTOMER#${customerId}`, sk: 'SUMMARY' }),
  /** What one payment currently adds to its customer's summary. */
  summaryContribution: (customerId: string, paymentId: string) => ({ pk: `CUSTOMER#${customerId}`, sk: `CONTRIBUTION#${paymentId}` }),
  deadLetter: (messageId: string) => ({ pk: `DEADLETTER#${messageId}`, sk: 'DEADLETTER' }),
  deadLetterIndex: (at: string, messageId: string) => ({ gsi1pk: 'DEADLETTERS', gsi1sk: `${at}#${messageId}` })
} as const

/** The `sk` prefix of status-history items. */
export const EVENT_SK_PREFIX = 'EVENT#'

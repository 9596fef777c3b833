/** Largest request body accepted, in bytes, webhooks included (256 KB: Stripe's own webhook limit). */
export const BODY_LIMIT_BYTES = 256 * 1024

import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'

/** Fetches a Secrets Manager secret's string, loading the SDK client only on first use. */
export function secretsManagerFetcher ({ secretId, region, endpoint }: { secretId: string, region: string, endpoint: string | undefined }): () => Promise<string> {
  let client: SecretsManagerClient | undefined
  return async () => {
    const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager')
    client ??= new SecretsManagerClient(endpoint === undefined ? { region } : { region, endpoint })
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }))
    if (SecretString === undefined) throw new Error(`secret ${secretId} has no string value`)
    return SecretString
  }
}
